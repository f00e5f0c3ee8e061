// A drawn signature for online forms (views: partials/_form_fill.html). The pad is a
// canvas of 600 x 200 units; each stroke becomes "M x y L x y ..." (whole numbers,
// the only grammar the server accepts) in the hidden input [data-signature-input].
// Without this script the pad stays hidden and the typed name alone signs.
(function () {
  "use strict";
  var MAX = 20000; // the server's limit on the path data

  function setUp(pad) {
    if (pad.getAttribute("data-ready")) return;
    pad.setAttribute("data-ready", "1");
    var form = pad.closest("form");
    var input = form && form.querySelector("[data-signature-input]");
    var canvas = pad.querySelector("canvas");
    var clear = pad.querySelector("[data-signature-clear]");
    if (!input || !canvas || !canvas.getContext) return;
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var path = input.value || "";

    function style() {
      ctx.lineWidth = 4;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#1d2430";
    }

    function redraw() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      style();
      var parts = path.split(" ");
      ctx.beginPath();
      for (var i = 0; i + 2 < parts.length; i += 3) {
        var x = Number(parts[i + 1]);
        var y = Number(parts[i + 2]);
        if (parts[i] === "M") ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }

    function point(event) {
      var box = canvas.getBoundingClientRect();
      var x = Math.round(((event.clientX - box.left) / box.width) * canvas.width);
      var y = Math.round(((event.clientY - box.top) / box.height) * canvas.height);
      return [Math.max(0, Math.min(canvas.width, x)), Math.max(0, Math.min(canvas.height, y))];
    }

    function add(command, p) {
      var part = command + " " + p[0] + " " + p[1];
      var next = path ? path + " " + part : part;
      if (next.length > MAX) return false;
      path = next;
      input.value = path;
      return true;
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      var p = point(event);
      if (!add("M", p)) return;
      drawing = true;
      if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
      style();
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      ctx.lineTo(p[0] + 0.1, p[1]);
      ctx.stroke();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      event.preventDefault();
      var p = point(event);
      if (!add("L", p)) {
        drawing = false;
        return;
      }
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    });
    function stop() {
      drawing = false;
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);
    if (clear) {
      clear.addEventListener("click", function () {
        path = "";
        input.value = "";
        redraw();
      });
    }
    pad.hidden = false;
    redraw();
  }

  function setUpAll(root) {
    var pads = (root || document).querySelectorAll("[data-signature-pad]");
    for (var i = 0; i < pads.length; i++) setUp(pads[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  } else {
    setUpAll(document);
  }
  document.addEventListener("htmx:load", function (event) { setUpAll(event.target); });
})();
