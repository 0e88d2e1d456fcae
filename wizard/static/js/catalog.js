// The API tokens page: a Copy button for the token shown once. Without JavaScript the token stays selectable.
(function () {
  "use strict";

  function copied(status, text) { if (status) { status.textContent = text; } }

  // The fallback for browsers without the async clipboard API (or where it is refused): select and copy.
  function copyBySelection(input) {
    input.focus();
    input.select();
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!input) { return; }
    var done = function () { copied(status, "Copied. Paste it where it is needed now; it is not shown again."); };
    var failed = function () {
      copied(status, copyBySelection(input) ? "Copied." : "Your browser did not allow copying: the token is selected, press Ctrl+C (⌘C on a Mac).");
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, failed);
    } else {
      failed();
    }
  });

  // The button only works with JavaScript, so only JavaScript shows it.
  function reveal(root) {
    var buttons = root.querySelectorAll("[data-copy-target]");
    for (var i = 0; i < buttons.length; i += 1) { buttons[i].hidden = false; }
  }
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:afterSwap", function (event) { if (event.detail && event.detail.target) { reveal(event.detail.target); } });
})();
