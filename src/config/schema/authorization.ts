// authorization: who may use the application once signed in (global rules and per-path rules).
import { Type } from '@sinclair/typebox';
import { strict } from './fields.js';

export const Rule = Type.Object(
  {
    allowedTenants: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Tenant ids (`tid`) allowed.' }),
    ),
    allowedUsers: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Users allowed: stable ids (`oid`, `sub`: exact) or names the provider vouches for (`preferred_username`, `upn`, verified `email`: case-insensitive). Never `name`.',
      }),
    ),
    requiredGroups: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'User must be in one of these.',
      }),
    ),
    requiredRoles: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'User must hold one of these roles.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Authorization = strict(
  {
    ...Rule.properties,
    paths: Type.Array(
      Type.Object(
        {
          prefix: Type.String({ format: 'abs-path', description: 'Path prefix the rule applies to.' }),
          ...Rule.properties,
        },
        {
          additionalProperties: false,
          description: 'Extra rules for a path prefix (longest prefix applies).',
        },
      ),
      { default: [] },
    ),
  },
  'Who may use the application once signed in. A rule naming a claim the user lacks denies.',
);
