// Small progressive enhancements. The app works without this file; htmx does the rest.
(function () {
  "use strict";

  // Hints meant for browsers without JavaScript (class "no-js-only") hide once this file runs.
  document.documentElement.classList.add("js");

  // Move focus to new content announced by htmx swaps that ask for it (data-focus-after-swap).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) { return; }
    var focusable = target.querySelector("[data-focus-after-swap]");
    if (focusable) { focusable.focus(); }
  });

  // A session that ended mid-page: reload so the server can send the sign-in page.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) { window.location.reload(); }
  });
})();
