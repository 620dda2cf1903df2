// Attach image: after initialize upload -> download -> upload, add the image to the post, or
// answer now if any step failed (nothing was posted, so the answer is a 4xx or a retryable 503).
const prepared = $('Prepare').item.json;
const init = $('LinkedIn: initialize image upload').item.json;
const download = $('Download image').item.json;
const upload = $json;
const ok = (answer) => answer && !answer.error && answer.statusCode >= 200 && answer.statusCode < 300;

if (!ok(init)) {
  const code = init.statusCode;
  if (code === 401) return { json: { route: 0, status: 401, body: { message: 'LinkedIn refused the access token (401): it expired or was revoked. Reconnect LinkedIn in Punctual.' } } };
  if (code === 429) return { json: { route: 0, status: 429, retryAfter: String((init.headers || {})['retry-after'] || 60), body: { message: "LinkedIn's rate limit was reached (429) while preparing the image." } } };
  if (code >= 400 && code < 500) return { json: { route: 0, status: code, body: { message: `LinkedIn refused the image upload (${code}): ${JSON.stringify(init.body || '').slice(0, 300)}` } } };
  return { json: { route: 0, status: 503, retryAfter: '30', body: { message: `LinkedIn could not prepare the image upload (${code || (init.error && init.error.message) || 'no answer'}); nothing was posted.` } } };
}
if (download.error) {
  return { json: { route: 0, status: 400, body: { message: `Could not download the image at ${prepared.imageUrl}: ${download.error.message || download.error}. Nothing was posted.` } } };
}
if (!ok(upload)) {
  return { json: { route: 0, status: 503, retryAfter: '30', body: { message: `LinkedIn did not accept the image upload (${upload.statusCode || (upload.error && upload.error.message) || 'no answer'}); nothing was posted.` } } };
}
const image = init.body.value.image;
return { json: { ...prepared, route: 1, request: { ...prepared.request, content: { media: { id: image } } } } };
