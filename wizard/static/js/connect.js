// The connect flow in the browser: the pop-up test, Grant Access in a pop-up (with a same-tab fallback),
// and the callback window telling its opener that Amazon authorized Ecommerce. Every page works without it.
(function () {
  "use strict";
  // The banner's re-authorize partial and a page may both load this file: run once.
  if (window.ecommerceConnectLoaded) { return; }
  window.ecommerceConnectLoaded = true;

  var CONSENT_WINDOW = "amazon_consent";
  var CONSENT_FEATURES = "popup=yes,width=780,height=820";
  var CHECK_FEATURES = "popup=yes,width=420,height=260";
  // Amazon's own error pages (MD5101, MD1000...) never come back to us: stop waiting after this long.
  var WAIT_LIMIT_MS = 2 * 60 * 1000;
  var completed = false;
  var waitTimer = null;
  var watchTimer = null;
  var consentWindow = null;

  function show(element) { if (element) { element.hidden = false; } }
  function hide(element) { if (element) { element.hidden = true; } }

  // Only follow links to our own pages (never a URL another window made up).
  function isLocalPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.indexOf("\\") === -1;
  }

  // Open a window; return null when a blocker refused it (window.open returns null, or a closed window).
  function openWindow(url, name, features) {
    var opened = null;
    try { opened = window.open(url, name, features); } catch (error) { opened = null; }
    if (!opened || opened.closed) { return null; }
    return opened;
  }

  // Prerequisites: "Check pop-ups" opens a tiny page of ours, which closes itself.
  function setUpPopupCheck() {
    document.querySelectorAll("[data-popup-check]").forEach(function (button) {
      var region = button.closest("[data-popup-check-region]");
      var result = region.querySelector("[data-popup-result]");
      var blocked = region.querySelector("[data-popup-blocked]");
      show(button);
      button.addEventListener("click", function () {
        var opened = openWindow(button.getAttribute("data-url"), "ecommerce_popup_check", CHECK_FEATURES);
        if (opened) {
          result.textContent = "✓ Pop-ups are allowed in this browser.";
          result.className = "need-check need-ok";
          hide(blocked);
        } else {
          result.textContent = "✕ Pop-ups are blocked in this browser.";
          result.className = "need-check need-no";
          show(blocked);
        }
      });
    });
  }

  function setUpSelfClose() {
    if (document.querySelector("[data-self-close]")) {
      window.setTimeout(function () { window.close(); }, 1500);
    }
  }

  // Grant Access: open the named window synchronously in the click (so no blocker objects), then let the
  // real form post into it; the server issues the state there and redirects that window to Amazon.
  function setUpConsentForms() {
    document.querySelectorAll("form[data-consent-form]").forEach(function (form) {
      var page = form.closest("[data-grant-page]") || document;
      var blocked = page.querySelector("[data-popup-blocked]");
      var waiting = page.querySelector("[data-waiting]");
      form.addEventListener("submit", function (event) {
        // A window left on Amazon's error page would be reused behind this one: start with a fresh window.
        if (consentWindow && !consentWindow.closed) { consentWindow.close(); }
        var opened = openWindow(form.getAttribute("data-popup-url"), CONSENT_WINDOW, CONSENT_FEATURES);
        if (!opened) {
          event.preventDefault();
          form.removeAttribute("target");
          hide(waiting);
          show(blocked);
          blocked.focus();
          return;
        }
        consentWindow = opened;
        form.target = CONSENT_WINDOW;
        form.querySelector("[data-mode]").value = "popup";
        hide(blocked);
        hide(page.querySelector("[data-grant-problem]"));
        show(waiting);
        watchWindow(opened, page);
      });
      var retry = page.querySelector("[data-try-again]");
      if (retry) {
        // A click of ours, so the pop-up opens inside it (blockers allow that) exactly as Grant Access does.
        retry.addEventListener("click", function () {
          if (form.requestSubmit) { form.requestSubmit(); } else { form.querySelector("[type=submit]").click(); }
        });
      }
    });
  }

  function stopWatching() {
    if (watchTimer) { window.clearInterval(watchTimer); watchTimer = null; }
    if (waitTimer) { window.clearTimeout(waitTimer); waitTimer = null; }
  }

  // Stop waiting: say what happened, open the error-code tips, and offer Try again and the same-tab route.
  // The page keeps polling the connection, so an authorization that did go through still moves it on.
  function giveUp(page, title, message, code) {
    if (completed) { return; }
    stopWatching();
    var problem = page.querySelector("[data-grant-problem]");
    if (!problem) { return; }
    hide(page.querySelector("[data-waiting]"));
    problem.querySelector("[data-problem-title]").textContent = title;
    problem.querySelector("[data-problem-message]").textContent = message;
    var codeLine = problem.querySelector("[data-problem-code]");
    codeLine.querySelector("code").textContent = code || "";
    codeLine.hidden = !code;
    var tips = page.querySelector("[data-error-tips]");
    if (tips) { tips.open = true; }
    show(problem);
    problem.focus();
  }

  // Watch the pop-up: closed without a result, or silent for 2 minutes (Amazon's error pages never answer).
  function watchWindow(opened, page) {
    stopWatching();
    watchTimer = window.setInterval(function () {
      if (!opened.closed) { return; }
      giveUp(page, "The Amazon window closed before the authorization finished",
        "Nothing was connected. If Amazon showed an error code, its meaning is listed below. If you did " +
        "authorize, this page still moves on by itself in a moment.", "");
    }, 700);
    waitTimer = window.setTimeout(function () {
      giveUp(page, "No answer from Amazon after 2 minutes",
        "The Amazon window has not come back to Ecommerce. If it shows an error code, its meaning is listed " +
        "below; close that window and try again.", "");
    }, WAIT_LIMIT_MS);
  }

  // The opener side: only messages from our own origin count.
  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin) { return; }
    var data = event.data || {};
    if (data.type === "amazon-connected" && isLocalPath(data.next)) {
      completed = true;
      stopWatching();
      window.location.assign(data.next);
    } else if (data.type === "amazon-failed") {
      var page = document.querySelector("[data-grant-page]") || document;
      giveUp(page, String(data.title || "The authorization did not finish"),
        String(data.message || "Nothing was connected."), String(data.code || ""));
    }
  });

  // The callback window: tell the opener (explicit target origin: ours), then close if it worked.
  function setUpCallbackResult() {
    var element = document.querySelector("[data-oauth-result]");
    if (!element) { return; }
    var opener = null;
    try { opener = window.opener && !window.opener.closed ? window.opener : null; } catch (error) { opener = null; }
    if (opener) {
      try {
        opener.postMessage({ type: element.getAttribute("data-type"), next: element.getAttribute("data-next"),
          title: element.getAttribute("data-title") || "", message: element.getAttribute("data-message") || "",
          code: element.getAttribute("data-code") || "" }, window.location.origin);
      } catch (error) { opener = null; }
    }
    if (opener && element.getAttribute("data-type") === "amazon-connected") {
      window.close();
    }
    document.querySelectorAll("[data-close-window]").forEach(function (button) {
      if (!opener) { return; }
      show(button);
      button.addEventListener("click", function () { window.close(); });
    });
  }

  function start() {
    setUpPopupCheck();
    setUpSelfClose();
    setUpConsentForms();
    setUpCallbackResult();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
