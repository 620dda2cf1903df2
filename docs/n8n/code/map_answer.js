// Map LinkedIn's answer to one Punctual classifies correctly (see Punctual's docs/n8n/README.md):
// 2xx -> 200 {linkedinPostUrn}; 422 DUPLICATE_POST and other 4xx -> 4xx (failed, not retried);
// 429 -> 429 with Retry-After (retried later); 5xx, no answer, timeout -> 502 (unconfirmed:
// it may exist, so Punctual never resends it by itself).
const prepared = $('Prepare').item.json;
const answer = $json;
const code = answer.statusCode;
const headers = answer.headers || {};
const said = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body || '');
const message = (answer.body && typeof answer.body === 'object' && answer.body.message) || said.slice(0, 300);

if (code === undefined || answer.error) {
  const why = (answer.error && (answer.error.message || answer.error.description)) || 'no answer';
  return { json: { status: 502, body: { message: `LinkedIn did not answer (${why}); the post may have been published. Check LinkedIn before retrying.` } } };
}
if (code >= 200 && code < 300) {
  const urn = headers['x-restli-id'] || headers['x-linkedin-id'] || (answer.body && answer.body.id) || null;
  const data = $getWorkflowStaticData('global');
  const published = data.published || {};
  published[prepared.idempotencyKey] = urn || 'published';
  const keys = Object.keys(published);
  for (const old of keys.slice(0, Math.max(0, keys.length - 5000))) delete published[old];  // keep the last 5,000
  data.published = published;
  return { json: { status: 200, body: { linkedinPostUrn: urn } } };
}
if (code === 422 && /DUPLICATE_POST|duplicate/i.test(said)) {
  return { json: { status: 409, body: { message: `LinkedIn refused the post as a duplicate of one already published (422 DUPLICATE_POST): ${message}` } } };
}
if (code === 429) {
  return { json: { status: 429, retryAfter: String(headers['retry-after'] || 60), body: { message: `LinkedIn's rate limit was reached (429): ${message}` } } };
}
if (code === 401) {
  return { json: { status: 401, body: { message: 'LinkedIn refused the access token (401): it expired or was revoked. Reconnect LinkedIn in Punctual.' } } };
}
if (code >= 400 && code < 500) {
  return { json: { status: code, body: { message: `LinkedIn refused the post (${code}): ${message}` } } };
}
return { json: { status: 502, body: { message: `LinkedIn answered ${code}; the post may have been published. Check LinkedIn before retrying.` } } };
