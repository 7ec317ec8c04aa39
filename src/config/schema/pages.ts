// pages: how authward's own pages (errors, signed out, sign-out confirmation) name and dress the app.
import { Type } from '@sinclair/typebox';
import { strict } from './fields.js';

export const Pages = strict(
  {
    appName: Type.String({
      default: '',
      maxLength: 100,
      description:
        'What users call the application, shown on every page ("Sign out of <appName>?"). Empty: publicUrl’s host.',
    }),
    templates: Type.String({
      default: '',
      description:
        "A folder of templates replacing the built-in ones: `page.html`, the layout every page is rendered into, with the placeholders {{title}}, {{content}} and {{requestId}} (required) and {{appName}}. Checked at start: a missing placeholder, an unknown one or an unknown file is a config error. Keep it self-contained: pages are served with `default-src 'none'` (inline styles only). Empty: the built-in page.",
    }),
  },
  'authward’s own pages (errors, signed out, sign-out confirmation).',
);
