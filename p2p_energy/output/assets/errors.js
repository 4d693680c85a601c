// Runs first: every script error and rejected promise is kept on the page (for people and for tests).
(function () {
  "use strict";
  var errors = [];
  function keep(message) {
    errors.push(String(message));
    document.documentElement.setAttribute("data-errors", String(errors.length));
    var box = document.getElementById("page-errors");
    if (box) {
      box.hidden = false;
      box.textContent = "Script errors on this page:\n" + errors.join("\n");
    }
  }
  window.pageErrors = errors;
  window.keepPageError = keep;
  window.addEventListener("error", function (event) {
    keep((event.message || "error") + (event.filename ? " at " + event.filename + ":" + event.lineno : ""));
  });
  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    keep("unhandled rejection: " + (reason && reason.message ? reason.message : reason));
  });
})();
