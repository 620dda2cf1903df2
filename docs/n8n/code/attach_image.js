// Attach image: the image was uploaded to LinkedIn; add it to the post, or answer now if the
// upload failed (nothing was posted, so a retryable 503).
const prepared = $('Prepare').item.json;
const init = $('LinkedIn: initialize image upload').item.json;
const upload = $json;
const ok = (answer) => answer && !answer.error && answer.statusCode >= 200 && answer.statusCode < 300;

if (!ok(upload)) {
  return { json: { route: 0, status: 503, retryAfter: '30', body: { message: `LinkedIn did not accept the image upload (${upload.statusCode || 'no answer'}); nothing was posted.` } } };
}
const image = init.body.value.image;
return { json: { ...prepared, route: 1, request: { ...prepared.request, content: { media: { id: image } } } } };
