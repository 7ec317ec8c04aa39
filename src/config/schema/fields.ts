// Field builders every section uses: secrets (with their *File twin), strict objects, URLs, paths, seconds.
import { type TOptional, type TProperties, type TSchema, type TString, Type } from '@sinclair/typebox';

// A secret field `x` may also be given as `xFile` (a path whose trimmed contents are the value):
// how Kubernetes and Docker secrets arrive. `secret: true` tells the loader and the error masker.
export function secret<K extends string, T extends TSchema>(name: K, schema: T) {
  const file = Type.Optional(
    Type.String({
      minLength: 1,
      description: `Path of a file holding \`${name}\` (instead of \`${name}\`).`,
    }),
  );
  return { [name]: Type.Optional({ ...schema, secret: true }), [`${name}File`]: file } as Record<
    K,
    TOptional<T>
  > &
    Record<`${K}File`, TOptional<TString>>;
}

export const strict = <T extends TProperties>(properties: T, description: string, defaults: object = {}) =>
  Type.Object(properties, { additionalProperties: false, description, default: defaults });

export const HttpUrl = (description: string) => Type.String({ format: 'http-url', description });
export const Path = (description: string, dflt?: string) =>
  Type.String({ format: 'abs-path', description, ...(dflt === undefined ? {} : { default: dflt }) });
export const Seconds = (description: string, dflt: number, max = 31_536_000) =>
  Type.Number({ exclusiveMinimum: 0, maximum: max, default: dflt, description });
export const Key32 = Type.String({ format: 'base64-key32', description: 'A base64-encoded 32-byte key.' });
export const HostPort = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Host name or address.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Port.' }),
  },
  { additionalProperties: false },
);
export const BodyLimit = Type.Optional(
  Type.Integer({
    minimum: 0,
    description:
      'Largest request body in bytes: 413 past it (a chunked body is cut there). Default: unlimited.',
  }),
);
export const Methods = Type.Array(
  Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m))),
  { minItems: 1, uniqueItems: true, description: 'HTTP methods this entry applies to (default: all).' },
);
