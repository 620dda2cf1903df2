// Prepare: check Punctual's payload, answer repeats, build the LinkedIn post.
// Runs once per item. Output `route`: 0 = answer now (status, body), 1 = post, 2 = post with an image.
const body = $json.body || {};
const key = body.idempotencyKey || ($json.headers || {})['idempotency-key'];

// LinkedIn's base URL and API version: overridable with n8n environment variables (tests point
// LINKEDIN_API_BASE_URL at a fake). n8n 2 blocks env access in nodes by default: then the defaults hold.
let baseUrl = 'https://api.linkedin.com';
let linkedinVersion = '202510';
try {
  if ($env.LINKEDIN_API_BASE_URL) baseUrl = String($env.LINKEDIN_API_BASE_URL).replace(/\/+$/, '');
  if ($env.LINKEDIN_API_VERSION) linkedinVersion = String($env.LINKEDIN_API_VERSION);
} catch (error) { /* N8N_BLOCK_ENV_ACCESS_IN_NODE: keep the defaults */ }

const required = ['postId', 'accessToken', 'personUrn', 'content', 'idempotencyKey'];
const missing = required.filter((field) => typeof body[field] !== 'string' || !body[field].trim());
if (missing.length) {
  return { json: { route: 0, status: 400, body: { message: `Missing or empty field(s): ${missing.join(', ')}.` } } };
}
if (!/^urn:li:person:[A-Za-z0-9_-]+$/.test(body.personUrn)) {
  return { json: { route: 0, status: 400, body: { message: `personUrn must look like urn:li:person:<id>.` } } };
}

// Repeats: a key that was published before is answered with the post it made, and not posted
// again. Keys are remembered only after LinkedIn confirmed (see Map LinkedIn's answer), so a try
// that failed (429, a timeout) can be tried again with the same key.
const published = $getWorkflowStaticData('global').published || {};
if (published[key]) {
  return { json: { route: 0, status: 200, body: {
    linkedinPostUrn: published[key], duplicate: true,
    message: 'Already published for this idempotency key; not posted again.' } } };
}

// LinkedIn's "little" text format: these characters must be escaped or the post is cut short.
const commentary = body.content.replace(/[\\|{}@\[\]()<>#*_~]/g, '\\$&');
const request = {
  author: body.personUrn,
  commentary,
  visibility: 'PUBLIC',
  distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
  lifecycleState: 'PUBLISHED',
  isReshareDisabledByAuthor: false,
};
return { json: {
  route: body.imageUrl ? 2 : 1,
  idempotencyKey: key,
  accessToken: body.accessToken,
  personUrn: body.personUrn,
  imageUrl: body.imageUrl || null,
  baseUrl,
  linkedinVersion,
  request,
} };
