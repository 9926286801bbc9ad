/** OpenAPI entries of the hub routes (merged into `/openapi.json` by `openapi.ts`). */
export function hubOpenApiPaths(
  errorResponse: (status: number, description: string) => unknown,
  commonErrors: Record<string, unknown>,
): Record<string, unknown> {
  const json = (schema: unknown) => ({ 'application/json': { schema } });
  const accepted = {
    '202': {
      description: 'Enqueued; read the result later with GET /v1/hub/repos/{owner}/{name}.',
      content: json({ $ref: '#/components/schemas/HubEnqueued' }),
    },
  };
  return {
    '/v1/hub/scan': {
      post: {
        operationId: 'hubScan',
        summary: 'Queue repository revisions for scanning',
        description:
          'Each repository revision is listed through the Hub API; each file is judged by its content ' +
          '(LFS SHA-256), so content already judged with the same engine, readers and rules is not read again.',
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['repos'],
            additionalProperties: false,
            properties: {
              repos: {
                type: 'array',
                minItems: 1,
                maxItems: 100,
                items: { type: 'string', description: 'owner/name or owner/name@revision' },
              },
              revision: { type: 'string', default: 'main' },
            },
          }),
        },
        responses: {
          ...accepted,
          '400': errorResponse(400, 'Bad body or repository name'),
          '413': errorResponse(413, 'More than 100 repositories'),
          '503': errorResponse(503, 'No queue or database bound'),
          ...commonErrors,
        },
      },
    },
    '/v1/hub/webhook': {
      post: {
        operationId: 'hubWebhook',
        summary: 'Hugging Face webhook receiver',
        description:
          'Authenticated by the `X-Webhook-Secret` header (the webhook secret set on the Hub), not by a ' +
          'bearer token. Model repository content updates are queued at their new commits; other events are ignored.',
        security: [],
        parameters: [{ name: 'X-Webhook-Secret', in: 'header', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: json({ type: 'object' }) },
        responses: {
          ...accepted,
          '400': errorResponse(400, 'Not JSON'),
          '401': errorResponse(401, 'Secret header missing'),
          '403': errorResponse(403, 'Secret does not match, or none configured'),
          '503': errorResponse(503, 'No queue or database bound'),
        },
      },
    },
    '/v1/hub/rejudge': {
      post: {
        operationId: 'hubRejudge',
        summary: 'Judge every stored scan again with the current rules',
        description: 'No file is read again: stored scans are re-evaluated, page by page, on the queue.',
        responses: { ...accepted, '503': errorResponse(503, 'No queue or database bound'), ...commonErrors },
      },
    },
    '/v1/hub/repos/{owner}/{name}': {
      get: {
        operationId: 'hubRepo',
        summary: 'Verdicts of a repository revision',
        parameters: [
          { name: 'owner', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'revision',
            in: 'query',
            required: false,
            description: 'The requested branch/tag, or the commit it resolved to.',
            schema: { type: 'string', default: 'main' },
          },
        ],
        responses: {
          '200': {
            description: 'Per-file verdicts, the overall verdict, and the files still queued.',
            content: json({ $ref: '#/components/schemas/HubRepo' }),
          },
          '400': errorResponse(400, 'Bad repository name or revision'),
          '404': errorResponse(404, 'Never submitted'),
          '503': errorResponse(503, 'No queue or database bound'),
          ...commonErrors,
        },
      },
    },
    '/v1/verdicts/{sha256}': {
      get: {
        operationId: 'verdictBySha256',
        summary: 'The stored verdict of one content',
        parameters: [
          {
            name: 'sha256',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
          },
        ],
        responses: {
          '200': {
            description:
              '`current` tells whether it was judged by this deployment’s engine, readers and rules.',
            content: json({ $ref: '#/components/schemas/HubVerdict' }),
          },
          '400': errorResponse(400, 'Not a hex SHA-256'),
          '404': errorResponse(404, 'Never judged'),
          '503': errorResponse(503, 'No queue or database bound'),
          ...commonErrors,
        },
      },
    },
  };
}

export const hubSchemas = {
  HubEnqueued: {
    type: 'object',
    required: ['enqueued'],
    properties: {
      enqueued: { type: 'integer' },
      ignored: { type: 'string' },
      repos: {
        type: 'array',
        items: { type: 'object', properties: { repo: { type: 'string' }, revision: { type: 'string' } } },
      },
    },
  },
  HubRepo: {
    type: 'object',
    required: ['repo', 'revision', 'status', 'verdict', 'files'],
    properties: {
      repo: { type: 'string' },
      revision: { type: 'string' },
      commit: { type: ['string', 'null'] },
      status: { enum: ['queued', 'scanning', 'done', 'failed'] },
      verdict: { type: 'string' },
      error: { type: 'string' },
      files: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'size', 'sha256', 'status'],
          properties: {
            path: { type: 'string' },
            size: { type: 'integer' },
            sha256: { type: ['string', 'null'] },
            status: { enum: ['queued', 'done', 'unscannable'] },
            verdict: { enum: ['clean', 'suspicious', 'dangerous', 'unscannable', 'not-a-model'] },
            fails: { type: 'boolean' },
            reason: { type: 'string' },
            rulesVersion: { type: 'string' },
          },
        },
      },
    },
  },
  HubVerdict: {
    type: 'object',
    required: ['sha256', 'status', 'current'],
    properties: {
      sha256: { type: 'string' },
      size: { type: 'integer' },
      status: { enum: ['pending', 'done', 'unscannable'] },
      verdict: { type: 'string' },
      fails: { type: 'boolean' },
      reason: { type: 'string' },
      readStamp: { type: ['string', 'null'] },
      rulesVersion: { type: ['string', 'null'] },
      current: { type: 'boolean' },
      scannedAt: { type: 'string' },
      report: { type: 'object' },
    },
  },
};
