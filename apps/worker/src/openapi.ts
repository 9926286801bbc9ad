import { ERROR_STATUS, type ErrorCode } from './errors.js';
import { hubOpenApiPaths, hubSchemas } from './hub/openapi-paths.js';

/** Status → codes that travel with it, so each operation documents exactly the codes it can return. */
function codesFor(status: number): ErrorCode[] {
  return (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((c) => ERROR_STATUS[c] === status);
}

const errorResponse = (status: number, description: string) => ({
  description: `${description} (codes: ${codesFor(status).join(', ')})`,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const reportResponses = {
  '200': {
    description:
      'The scan finished. The verdict (`clean`, `suspicious`, `dangerous`) is inside the report; ' +
      '`X-Brine-Verdict` and `X-Brine-Fails` repeat it for clients that only read headers.',
    headers: {
      'X-Brine-Verdict': {
        schema: { type: 'string', enum: ['clean', 'suspicious', 'dangerous', 'unscannable'] },
      },
      'X-Brine-Fails': { schema: { type: 'string', enum: ['true', 'false'] } },
    },
    content: {
      'application/json': { schema: { $ref: '#/components/schemas/Report' } },
      'application/sarif+json': { schema: { $ref: '#/components/schemas/Sarif' } },
    },
  },
};

const commonErrors = {
  '401': errorResponse(401, 'Bearer token missing or wrong'),
  '403': errorResponse(403, 'Forbidden'),
  '429': errorResponse(429, 'Too many scans in progress; retry after `Retry-After` seconds'),
  '500': errorResponse(500, 'Internal error'),
};

const scanQuery = [
  {
    name: 'policy',
    in: 'query',
    required: false,
    description: 'Built-in policy the verdict is judged by.',
    schema: { type: 'string', default: 'default' },
  },
  {
    name: 'format',
    in: 'query',
    required: false,
    description: 'Report format.',
    schema: { type: 'string', enum: ['json', 'sarif'], default: 'json' },
  },
];

/**
 * The OpenAPI 3.1 document of the API, served at `/openapi.json`. Tests check that its paths and
 * methods are exactly the app's routes, and that every error code the app returns is listed here.
 */
export function openApiDocument(info: { version: string; policies: string[] }): Record<string, unknown> {
  const policyParam = {
    ...scanQuery[0],
    schema: { type: 'string', enum: info.policies, default: 'default' },
  };
  const query = [policyParam, scanQuery[1]];
  return {
    openapi: '3.1.0',
    info: {
      title: 'brine scan API',
      version: info.version,
      description:
        'Finds code that runs when an ML model file (pickle, PyTorch checkpoint, joblib, npy) is loaded, ' +
        'without ever loading it. Uploads are scanned as they stream in; remote files are read with HTTP ' +
        'Range requests, fetching only directories and pickles.',
    },
    security: [{ bearer: [] }],
    paths: {
      ...hubOpenApiPaths(errorResponse, commonErrors),
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness and versions',
          security: [],
          responses: {
            '200': {
              description: 'The service is up.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: {
            '200': {
              description: 'OpenAPI 3.1 document',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
      '/v1/rules': {
        get: {
          operationId: 'listRules',
          summary: 'The detection rules and policies',
          responses: {
            '200': {
              description: 'Rule documentation, the rule-set version and the built-in policies.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Rules' } } },
            },
            ...commonErrors,
          },
        },
      },
      '/v1/scan': {
        post: {
          operationId: 'scanUpload',
          summary: 'Scan an uploaded model file',
          description:
            'The raw file is the request body. It is scanned as it arrives, so size is bounded by ' +
            '`maxUploadBytes`, not by memory. Zip central directories come last in a stream; checks that ' +
            'need bytes already passed are reported as problems, never silently skipped.',
          parameters: [
            {
              name: 'filename',
              in: 'query',
              required: false,
              description: 'Name shown in the report (content decides the format, never the name).',
              schema: { type: 'string', maxLength: 1024 },
            },
            ...query,
          ],
          requestBody: {
            required: true,
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: {
            ...reportResponses,
            '400': errorResponse(400, 'Bad query or empty body'),
            '413': errorResponse(413, 'Upload larger than the limit'),
            '415': errorResponse(415, 'Not a model file, or a form upload instead of a raw body'),
            '422': errorResponse(422, 'The file could not be fully scanned; `report` holds what was found'),
            '504': errorResponse(504, 'The per-request time budget ran out'),
            ...commonErrors,
          },
        },
      },
      '/v1/scan-url': {
        post: {
          operationId: 'scanUrl',
          summary: 'Scan a remote file or a Hugging Face repository with HTTP Range reads',
          description:
            'https only (http only for trusted hosts); private, loopback and link-local addresses are ' +
            'refused unless trusted; redirects are followed only to allowed hosts; no credentials are forwarded.',
          parameters: query,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ScanUrlRequest' } } },
          },
          responses: {
            ...reportResponses,
            '400': errorResponse(400, 'Bad JSON, URL or repository reference'),
            '403': errorResponse(403, 'URL refused by the fetch policy, or forbidden'),
            '413': errorResponse(413, 'Remote transfer or file count over the limit'),
            '415': errorResponse(415, 'Not a model file'),
            '422': errorResponse(422, 'A file could not be fully scanned; `report` holds what was found'),
            '502': errorResponse(502, 'The remote server failed'),
            '504': errorResponse(504, 'The per-request time budget ran out'),
            '401': commonErrors['401'],
            '429': commonErrors['429'],
            '500': commonErrors['500'],
          },
        },
      },
      '/v1/convert': {
        post: {
          operationId: 'convert',
          summary: 'Convert a PyTorch checkpoint to safetensors without unpickling it',
          description:
            'The checkpoint is the raw request body (held in memory, up to the conversion limit). It must ' +
            'pass the weights-only policy, then a restricted interpreter of the data-only subset of pickle ' +
            'rebuilds the tensors; the safetensors file is streamed back. Anything else is refused.',
          parameters: [
            {
              name: 'filename',
              in: 'query',
              required: false,
              schema: { type: 'string' },
              description: 'Name of the checkpoint, used in reports and for the output file name.',
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: {
            '200': {
              description: 'The safetensors file; `X-Brine-Source-Sha256` is the SHA-256 of the input.',
              headers: { 'X-Brine-Source-Sha256': { schema: { type: 'string' } } },
              content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            },
            '400': errorResponse(400, 'Empty body or bad query'),
            '413': errorResponse(413, 'Checkpoint over the conversion limit'),
            '422': errorResponse(
              422,
              'Refused: the scan or the restricted interpreter found something that is not plain data; `report` holds the findings',
            ),
            '504': errorResponse(504, 'The per-request time budget ran out'),
            '401': commonErrors['401'],
            '429': commonErrors['429'],
            '500': commonErrors['500'],
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Required when the server has a token configured (`BRINE_TOKEN`).',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
                message: { type: 'string' },
                details: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
              },
            },
            report: { $ref: '#/components/schemas/Report' },
          },
        },
        Report: {
          type: 'object',
          description:
            'A brine JSON report, as described by `packages/report/schema/brine-report.schema.json`.',
        },
        Sarif: {
          type: 'object',
          description: 'SARIF 2.1.0 log (`format=sarif`).',
        },
        Health: {
          type: 'object',
          required: ['status', 'version', 'rulesetVersion'],
          properties: {
            status: { const: 'ok' },
            version: { type: 'string' },
            rulesetVersion: { type: 'string' },
            auth: { type: 'boolean', description: 'Whether a bearer token is required.' },
          },
        },
        Rules: {
          type: 'object',
          required: ['rulesetVersion', 'rules', 'policies'],
          properties: {
            rulesetVersion: { type: 'string' },
            policies: { type: 'array', items: { type: 'string' } },
            rules: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'name', 'title', 'severity'],
                properties: {
                  id: { type: 'string' },
                  name: { type: 'string' },
                  title: { type: 'string' },
                  severity: { type: 'string' },
                  explanation: { type: 'string' },
                  remediation: { type: 'string' },
                  references: { type: 'array', items: { type: 'string' } },
                  tags: { type: 'array', items: { type: 'string' } },
                },
              },
            },
          },
        },
        ...hubSchemas,
        ScanUrlRequest: {
          oneOf: [
            {
              type: 'object',
              required: ['url'],
              additionalProperties: false,
              properties: { url: { type: 'string', format: 'uri' }, filename: { type: 'string' } },
            },
            {
              type: 'object',
              required: ['hf'],
              additionalProperties: false,
              properties: {
                hf: { type: 'string', pattern: '^[^/]+/[^/]+$', description: 'owner/repo' },
                revision: { type: 'string', default: 'main' },
              },
            },
          ],
        },
      },
    },
  };
}
