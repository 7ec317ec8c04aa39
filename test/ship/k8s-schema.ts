// Kubernetes manifests against the API schemas, offline: kubernetes-models' validators plus unknown-field detection.
//
// kubernetes-models (devDependency) ships the Kubernetes OpenAPI schemas compiled to validators:
// types, required fields, enums, formats. Like the OpenAPI document itself they allow unknown
// fields, so a typo such as `livenesProbe` would pass (and be dropped by the API server). The same
// package ships a TypeScript interface per kind; assigning each manifest, as an object literal, to
// its interface makes the TypeScript compiler report every property the API does not know.
import { join } from 'node:path';
import ts from 'typescript';
import { root } from './files.js';

export interface Manifest {
  file: string;
  doc: Record<string, unknown> & { apiVersion: string; kind: string };
}

/** 'apps/v1' + 'Deployment' -> 'kubernetes-models/apps/v1/Deployment'; core 'v1' has no group. */
export function modelPath(m: Manifest['doc']): string {
  // prometheus-operator's CRDs (the Helm chart's ServiceMonitor) come in their own package.
  if (m.apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${m.apiVersion}/${m.kind}`;
  return `kubernetes-models/${m.apiVersion}/${m.kind}`;
}

/** Runs the package's compiled schema validator; returns the error message or undefined. */
export async function validateSchema(m: Manifest['doc']): Promise<string | undefined> {
  const mod = (await import(modelPath(m))) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[m.kind];
  if (!Model) return `kubernetes-models has no model ${m.apiVersion} ${m.kind}`;
  try {
    new Model(m).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Properties the API does not know, per manifest (index into `manifests`), from one TypeScript program. */
export function unknownFields(manifests: Manifest['doc'][]): Map<number, string[]> {
  // A virtual file inside the repository, so `kubernetes-models` resolves from its node_modules.
  const file = join(root, 'test/ship/__manifests__.ts');
  const lines = manifests.map(
    (m, i) =>
      `import type { I${m.kind} as T${i} } from '${modelPath(m)}'; export const m${i}: T${i} = ${JSON.stringify(m)};`,
  );
  const source = `${lines.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    lib: ['lib.es2015.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const problems = new Map<number, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    const index =
      d.file?.fileName === file && d.start !== undefined
        ? d.file.getLineAndCharacterOfPosition(d.start).line
        : -1;
    problems.set(index, [...(problems.get(index) ?? []), text]);
  }
  return problems;
}
