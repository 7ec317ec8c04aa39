// The built-in page template: one small, self-contained page (inline CSS, no scripts, no external
// resources: the CSP of own pages allows nothing else) that every page authward renders is poured into.
//
// Accessibility: a language, one <h1> per page, a <main> landmark, text at 4.5:1 contrast or more
// (#1f1f1f on #fff; links #0b57d0, 6.3:1; the request id #595959, 7:1), no meaning carried by colour.

/** Placeholders a template may use; those in REQUIRED must be there (checked at start). */
export const PLACEHOLDERS = ['title', 'appName', 'content', 'requestId'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export const REQUIRED: readonly Placeholder[] = ['title', 'content', 'requestId'];

export const BUILT_IN_LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}} · {{appName}}</title>
<style>
body{margin:0;background:#f3f4f6;color:#1f1f1f;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:34rem;margin:12vh auto 2rem;padding:2rem;background:#fff;border:1px solid #d0d4da;border-radius:8px}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
p{margin:0 0 1rem}
.app{font-size:.875rem;color:#595959;margin:0 0 .5rem}
.next{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;margin:1.5rem 0 0}
.next form{margin:0}
a{color:#0b57d0}
a:focus,button:focus{outline:3px solid #1f1f1f;outline-offset:2px}
.button,button{display:inline-block;padding:.5rem 1rem;border:1px solid #0b57d0;border-radius:6px;background:#0b57d0;color:#fff;font:inherit;text-decoration:none;cursor:pointer}
.detail{margin:1.5rem 0 0;font-size:.75rem;color:#595959}
footer{max-width:34rem;margin:0 auto;padding:0 2rem;font-size:.75rem;color:#595959}
</style>
</head>
<body>
<main>
<p class="app">{{appName}}</p>
{{content}}
</main>
<footer><p>Request id: {{requestId}}</p></footer>
</body>
</html>
`;
