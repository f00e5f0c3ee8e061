// The portal's only script: small behaviours htmx does not do by itself.
// No inline handlers anywhere (strict CSP); everything works without this file.
(function () {
  "use strict";

  // After an htmx navigation, move focus to the new page's heading so screen
  // readers announce it and keyboard users start at the top of the content.
  // htmx pushes the URL *before* it swaps, so wait for the swap to settle:
  // focusing at push time would land on the old heading, about to be removed.
  var navigated = false;
  document.addEventListener("htmx:pushedIntoHistory", function () {
    navigated = true;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!navigated) return;
    navigated = false;
    var main = document.getElementById("main");
    var heading = main && main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  });

  // On phones the menu is one scrolling row: bring the current entry into view
  // (the row starts scrolled to the left, and is replaced on every navigation).
  function revealCurrentMenuEntry() {
    var links = document.querySelectorAll('.menu a[aria-current="page"]');
    for (var i = 0; i < links.length; i++) {
      var row = links[i].closest("ul");
      if (row && row.scrollWidth > row.clientWidth) {
        row.scrollLeft = links[i].offsetLeft - (row.clientWidth - links[i].offsetWidth) / 2;
      }
    }
  }
  revealCurrentMenuEntry();
  document.addEventListener("htmx:afterSettle", revealCurrentMenuEntry);
  var phone = window.matchMedia("(max-width: 799.98px)"); // the breakpoint in portal.css
  if (phone.addEventListener) phone.addEventListener("change", revealCurrentMenuEntry);

  // The "Acting for" selector switches client as soon as a guardian picks one.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "switch-client-select") {
      event.target.form.requestSubmit();
    }
  });
})();

// Print buttons exist only where this script runs (the browser's own Print works anyway).
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () { window.print(); });
  }
})();

// Live updates: one websocket per tab (/ws, htmx's websocket extension on .shell).
// The page says what it shows (#live-view) and the last message id it is drawn up
// to (#live-cursor, which the server moves as it pushes). Each (re)connect carries
// both, so the server replays from the database whatever the tab missed; after an
// htmx navigation the open socket is told about the new page.
(function () {
  "use strict";
  if (!window.htmx || !htmx.createWebSocket) return;

  function liveParams() {
    var params = {};
    var view = document.getElementById("live-view");
    var cursor = document.getElementById("live-cursor");
    params.view = (view && view.getAttribute("data-view")) || "page";
    ["thread", "queue", "show"].forEach(function (key) {
      var value = view && view.getAttribute("data-" + key);
      if (value) params[key] = value;
    });
    params.after = (cursor && cursor.getAttribute("data-after")) || "0";
    return params;
  }

  var create = htmx.createWebSocket;
  htmx.createWebSocket = function (url) {
    var target = new URL(url, window.location.href);
    var params = liveParams();
    Object.keys(params).forEach(function (key) { target.searchParams.set(key, params[key]); });
    shownView = document.getElementById("live-view");
    return create(target.toString());
  };

  var socket = null;
  var shownView = null;
  document.addEventListener("htmx:wsOpen", function (event) { socket = event.detail.socketWrapper; });
  document.addEventListener("htmx:wsClose", function () { socket = null; });
  document.addEventListener("htmx:afterSettle", function () {
    var view = document.getElementById("live-view");
    if (!socket || !view || view === shownView) return;
    shownView = view;
    var frame = liveParams();
    frame.type = "view";
    socket.send(JSON.stringify(frame));
  });

  // A message the tab already shows (its own reply, drawn by the form's response)
  // is not appended a second time when the socket pushes it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var first = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (first && first.id && first.id.indexOf("message-") === 0 && document.getElementById(first.id)) {
      event.detail.shouldSwap = false;
    }
  });
})();
