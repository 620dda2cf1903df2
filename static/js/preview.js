// The LinkedIn preview beside the composer (templates/posts/_preview.html), redrawn as you type
// with no request: the same fold rule as webapp/posts/preview.py (tests/e2e/test_preview_browser.py
// checks that the two agree). Text goes in with textContent only, never as HTML.
(function () {
  "use strict";

  var TAG = /(?<![\p{L}\p{N}_#@])([#@])([\p{L}\p{N}_]+)/gu;

  function normalise(text) {
    return text.replace(/\r\n/g, "\n").replace(/\r/g, "\n").trim();
  }

  // Where each feed line of one paragraph (an array of code points) ends.
  function wrap(chars, width) {
    var ends = [], start = 0, n = chars.length;
    if (n === 0) return [0];
    while (start < n) {
      if (n - start <= width) { ends.push(n); break; }
      var cut = -1;
      for (var i = Math.min(start + width, n - 1); i >= start; i--) {
        if (chars[i] === " ") { cut = i; break; }
      }
      if (cut <= start) { cut = start + width; ends.push(cut); start = cut; }
      else { ends.push(cut); start = cut + 1; }
    }
    return ends;
  }

  // {visible, hidden} as code-point arrays, like preview.fold.
  function fold(text, width, maxLines) {
    var chars = Array.from(normalise(text));
    var lines = [], offset = 0, paragraph = [];
    var paragraphs = [];
    chars.forEach(function (c) {
      if (c === "\n") { paragraphs.push(paragraph); paragraph = []; } else paragraph.push(c);
    });
    paragraphs.push(paragraph);
    paragraphs.forEach(function (p) {
      var start = 0;
      wrap(p, width).forEach(function (end) {
        lines.push([offset + start, offset + end]);
        start = (end < p.length && p[end] === " ") ? end + 1 : end;
      });
      offset += p.length + 1;
    });
    if (lines.length <= maxLines) return { visible: chars, hidden: [] };
    var shown = maxLines;
    if (lines[shown - 1][0] === lines[shown - 1][1]) shown -= 1;
    var cut = lines[shown - 1][1];
    return { visible: chars.slice(0, cut), hidden: chars.slice(cut) };
  }

  function fill(el, text) {
    el.replaceChildren();
    var at = 0, match;
    TAG.lastIndex = 0;
    while ((match = TAG.exec(text)) !== null) {
      if (match.index > at) el.appendChild(document.createTextNode(text.slice(at, match.index)));
      var span = document.createElement("span");
      span.className = match[1] === "#" ? "li-hashtag" : "li-mention";
      span.textContent = match[0];
      el.appendChild(span);
      at = match.index + match[0].length;
    }
    if (at < text.length) el.appendChild(document.createTextNode(text.slice(at)));
  }

  function drawPost(article, text, width, maxLines) {
    var body = article.querySelector(".li-text");
    var total = Array.from(normalise(text)).length;
    var f = fold(text, width, maxLines);
    body.replaceChildren();
    body.classList.toggle("li-empty", total === 0);
    body.dataset.expanded = "false";
    if (total === 0) {
      body.textContent = "Your post appears here as you type.";
    }
    var visible = document.createElement("span");
    visible.className = "li-visible";
    fill(visible, f.visible.join(""));
    body.appendChild(visible);
    if (f.hidden.length) {
      var more = document.createElement("button");
      more.type = "button";
      more.className = "li-more link";
      more.textContent = "…see more";
      var hidden = document.createElement("span");
      hidden.className = "li-hidden";
      fill(hidden, f.hidden.join(""));
      body.appendChild(more);
      body.appendChild(hidden);
    }
    var count = article.querySelector("[data-count]");
    count.replaceChildren();
    var strong = document.createElement("strong");
    strong.className = "li-count-value";
    strong.textContent = String(f.visible.length);
    count.appendChild(strong);
    count.appendChild(document.createTextNode(f.hidden.length
      ? " characters before “…see more”, " + (total - f.visible.length) + " after it."
      : " characters, all visible: no “…see more”."));
  }

  function drawImage(article, url) {
    var img = article.querySelector(".li-image");
    url = url.trim();
    var ok = /^https?:\/\//.test(url);
    if (ok && img.getAttribute("src") !== url) img.setAttribute("src", url);
    img.hidden = !ok;
  }

  function redraw(preview) {
    var form = document.getElementById("post-form");
    if (!form) return;
    var content = form.querySelector("#content");
    var image = form.querySelector("#image_url");
    var maxLines = parseInt(preview.dataset.lines, 10);
    preview.querySelectorAll(".li-post").forEach(function (article) {
      var width = parseInt(preview.dataset["width" + article.dataset.device[0].toUpperCase() +
        article.dataset.device.slice(1)], 10);
      if (content) drawPost(article, content.value, width, maxLines);
      if (image) drawImage(article, image.value);
    });
  }

  var pending = null;
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#post-form")) return;
    if (target.id !== "content" && target.id !== "image_url") return;
    var preview = document.querySelector("[data-preview]");
    if (!preview) return;
    // One redraw per frame, however fast the typing.
    if (pending === null) {
      pending = window.requestAnimationFrame(function () { pending = null; redraw(preview); });
    }
  });

  // "…see more" unfolds the rest, as it does in the feed.
  document.addEventListener("click", function (event) {
    var more = event.target.closest ? event.target.closest(".li-more") : null;
    if (!more) return;
    var body = more.closest(".li-text");
    body.dataset.expanded = "true";  // typing folds it again (a redraw)
  });

  // An htmx answer that redraws the form (a mistake) keeps the preview in step.
  document.addEventListener("htmx:afterSwap", function () {
    var preview = document.querySelector("[data-preview]");
    if (preview) redraw(preview);
  });

  window.PunctualPreview = { fold: function (text, device) {
    var preview = document.querySelector("[data-preview]");
    var width = parseInt(preview.dataset[device === "mobile" ? "widthMobile" : "widthDesktop"], 10);
    var f = fold(text, width, parseInt(preview.dataset.lines, 10));
    return { visible: f.visible.join(""), hidden: f.hidden.join("") };
  } };
})();
