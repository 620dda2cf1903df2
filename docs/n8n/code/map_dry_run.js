// Map the dry run: LinkedIn's answer to GET /v2/userinfo (OpenID) becomes Punctual's verdict on the
// token. Always 200 with "dryRun": true, so Punctual can tell "the workflow understood the dry run"
// from transport problems (401/403 wrong secret, 404 inactive workflow or test URL):
//   2xx                 -> {linkedin: "ok", name, personUrn, samePerson (+ message when false)}
//   401, other 4xx      -> {linkedin: "token rejected", linkedinStatus, message}
//   429, 5xx, no answer -> {linkedin: "unreachable", linkedinStatus?, message} (no verdict on the token)
// Nothing is posted and nothing is remembered: dry runs never touch the idempotency keys.
const prepared = $('Prepare').item.json;
const answer = $json;
const code = answer.statusCode;
const reply = (fields) => ({ json: { status: 200, body: { dryRun: true, ...fields } } });
const said = (answer.body && typeof answer.body === 'object' && typeof answer.body.message === 'string')
  ? answer.body.message.replace(/\s+/g, ' ').trim().slice(0, 200) : '';
const because = said ? `: "${said}"` : '';

if (code === undefined || code === null || answer.error) {
  const error = answer.error || {};
  const text = `${error.code || ''} ${error.message || ''} ${error.description || ''}`;
  const why = /timeout|timed out|ETIMEDOUT|ECONNABORTED/i.test(text) ? 'it timed out' : 'no connection';
  return reply({ linkedin: 'unreachable',
    message: `LinkedIn could not be reached to check the token (${why}); try again in a few minutes.` });
}
if (code >= 200 && code < 300) {
  const me = (answer.body && typeof answer.body === 'object') ? answer.body : {};
  const name = (typeof me.name === 'string' && me.name.trim())
    || [me.given_name, me.family_name].filter((part) => typeof part === 'string' && part.trim()).join(' ')
    || null;
  const personUrn = typeof me.sub === 'string' && me.sub ? `urn:li:person:${me.sub}` : null;
  if (personUrn && personUrn !== prepared.personUrn) {
    return reply({ linkedin: 'ok', name, personUrn, samePerson: false,
      message: `The token belongs to ${personUrn}, not to ${prepared.personUrn}: LinkedIn would refuse its posts. Reconnect LinkedIn in Punctual.` });
  }
  return reply({ linkedin: 'ok', name, personUrn, samePerson: personUrn === null ? null : true });
}
if (code === 401) {
  return reply({ linkedin: 'token rejected', linkedinStatus: 401,
    message: `LinkedIn refused the access token (401${because}): it expired or was revoked. Reconnect LinkedIn in Punctual.` });
}
if (code === 429) {
  return reply({ linkedin: 'unreachable', linkedinStatus: 429,
    message: "LinkedIn's rate limit was reached (429), so the token could not be checked; try again later." });
}
if (code >= 400 && code < 500) {
  const scope = code === 403 ? ' The token may lack the openid and profile scopes, or was revoked.' : '';
  return reply({ linkedin: 'token rejected', linkedinStatus: code,
    message: `LinkedIn refused to read the member's profile with this token (${code}${because}).${scope} Reconnect LinkedIn in Punctual.` });
}
return reply({ linkedin: 'unreachable', linkedinStatus: code,
  message: `LinkedIn answered ${code}, so the token could not be checked; try again in a few minutes.` });
