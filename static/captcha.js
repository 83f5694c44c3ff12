// The open-a-ticket form's spam check (HELPDESK_CAPTCHA=1): the vendored ALTCHA widget, whose
// proof of work runs in a Web Worker served from this site (worker-src 'self'; no blob: and no
// inline styles are needed, its CSS is the vendored altcha.css). See helpdesk/captcha.py.
import "./vendor/altcha/altcha.min.js";

const worker = new URL("./vendor/altcha/pbkdf2.js", import.meta.url);
globalThis.$altcha.algorithms.set("PBKDF2/SHA-256", () => new Worker(worker));
