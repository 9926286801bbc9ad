import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const formatsModule = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsModule.default ?? formatsModule;

const schemaDir = new URL('../../schema/', import.meta.url);

function compile(file: string) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')));
}

const jsonReport = compile('brine-report.schema.json');
const sarif = compile('sarif-2.1.0.json');

function errorsOf(validate: ReturnType<typeof compile>, value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** Schema errors of a `--format json` report (empty when valid). */
export function jsonReportErrors(value: unknown): string[] {
  return errorsOf(jsonReport, value);
}

/** Official SARIF 2.1.0 schema errors of a log (empty when valid). */
export function sarifErrors(value: unknown): string[] {
  return errorsOf(sarif, value);
}
