// The one HTML escaper: every text authward puts into a page (messages, hosts, URLs, the app name) goes
// through it; page templates from `pages.templates` are trusted operator files and are not escaped.
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
