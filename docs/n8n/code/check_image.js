// Check the image: after LinkedIn registered the upload and the image was downloaded, go on to the
// upload (route 1, the image passed along) or answer now (route 0); nothing has been posted yet.
// The download's failure is told in a short reason only (HTTP status, timeout, not an image): never
// the raw error, the host's internals or the body, so the answer cannot be used to scan n8n's network.
const init = $('LinkedIn: initialize image upload').item.json;
const download = $json;
const ok = (answer) => answer && !answer.error && answer.statusCode >= 200 && answer.statusCode < 300;
const answer = (status, message, retryAfter) => ({ json: { route: 0, status, ...(retryAfter ? { retryAfter } : {}), body: { message } } });

if (!ok(init)) {
  const code = init.statusCode;
  if (code === 401) return answer(401, 'LinkedIn refused the access token (401): it expired or was revoked. Reconnect LinkedIn in Punctual.');
  if (code === 429) return answer(429, "LinkedIn's rate limit was reached (429) while preparing the image.", String((init.headers || {})['retry-after'] || 60));
  if (code >= 400 && code < 500) return answer(code, `LinkedIn refused the image upload (${code}): ${JSON.stringify(init.body || '').slice(0, 300)}`);
  return answer(503, `LinkedIn could not prepare the image upload (${code || 'no answer'}); nothing was posted.`, '30');
}

const notDownloaded = (reason) => `The image could not be downloaded (${reason}); nothing was posted.`;
if (download.error || download.statusCode === undefined || download.statusCode === null) {
  const error = download.error || {};
  const text = [error.code, error.name, error.message, error.description].filter((x) => typeof x === 'string').join(' ');
  const timeout = /timeout|timed out|ETIMEDOUT|ECONNABORTED|ESOCKETTIMEDOUT/i.test(text);
  return answer(503, notDownloaded(timeout ? 'timeout' : 'no connection'), '30');  // may pass: try again later
}
const code = download.statusCode;
if (code >= 300 && code < 400) return answer(400, notDownloaded(`HTTP ${code}: it redirects, and redirects are not followed; use the image's final address`));
if (code >= 500) return answer(503, notDownloaded(`HTTP ${code}`), '30');
if (code < 200 || code >= 300) return answer(400, notDownloaded(`HTTP ${code}`));
const file = (($input.item.binary || {}).data) || null;
if (!file || !/^image\//i.test(String(file.mimeType || ''))) return answer(400, notDownloaded('not an image'));
return { json: { route: 1 }, binary: $input.item.binary };
