// The portal's only script: small behaviours htmx does not do by itself.
// No inline handlers anywhere (strict CSP); everything works without this file.
(function () {
  "use strict";

  // After an htmx navigation, move focus to the new page's heading so screen
  // readers announce it and keyboard users start at the top of the content.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var main = document.getElementById("main");
    var heading = main && main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  });

  // The "Acting for" selector switches client as soon as a guardian picks one.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "switch-client-select") {
      event.target.form.requestSubmit();
    }
  });
})();
