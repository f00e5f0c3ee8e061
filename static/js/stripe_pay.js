// Stripe's Payment Element on the pages that need it (a new card at /pay/<id>, the
// bank's check, adding a card in My Profile). Stripe.js is loaded only when such a
// form is on the page, from the address the server gives (data-stripe-js), which the
// Content-Security-Policy allows. The card number is typed into Stripe's iframe and
// goes to Stripe; this page only ever sees Stripe's ids.
(function () {
  "use strict";

  var loading = null;
  function loadStripe(src) {
    if (window.Stripe) return Promise.resolve(window.Stripe);
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = function () { resolve(window.Stripe); };
      script.onerror = function () { loading = null; reject(new Error("stripe.js")); };
      document.head.appendChild(script);
    });
    return loading;
  }

  function setup(form) {
    if (form.dataset.stripeMounted) return;
    form.dataset.stripeMounted = "1";
    var d = form.dataset;
    var button = form.querySelector("[data-stripe-submit]");
    var errorBox = form.querySelector("[role=alert][hidden], #stripe-error");
    var busy = form.querySelector("[data-stripe-loading]");
    function fail(message) {
      if (busy) busy.hidden = true;
      if (errorBox) { errorBox.textContent = message; errorBox.hidden = false; }
      if (button) button.disabled = false;
    }
    loadStripe(d.stripeJs).then(function (StripeJs) {
      var stripe = StripeJs(d.stripeKey, { locale: d.locale || "auto" });
      var elements = null;
      if (d.stripeMode !== "action") {
        elements = stripe.elements({ clientSecret: d.stripeSecret });
        elements.create("payment").mount(form.querySelector(".stripe-element"));
      }
      if (button) button.disabled = false;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (button) button.disabled = true;
        if (busy) busy.hidden = false;
        if (errorBox) errorBox.hidden = true;
        var done;
        if (d.stripeMode === "action") {
          done = stripe.handleNextAction({ clientSecret: d.stripeSecret }).then(function (result) {
            if (!result.error) window.location.assign(d.stripeReturn);
            return result;
          });
        } else if (d.stripeMode === "setup") {
          done = stripe.confirmSetup({ elements: elements, confirmParams: { return_url: d.stripeReturn } });
        } else {
          done = stripe.confirmPayment({ elements: elements, confirmParams: { return_url: d.stripeReturn } });
        }
        done.then(function (result) {
          // Success navigates to the return address; only errors come back here.
          if (result && result.error) fail(result.error.message || "");
        }, function () { fail(form.dataset.errorText || ""); });
      });
    }, function () {
      fail(form.dataset.errorText || "");
    });
  }

  function scan(root) {
    var forms = (root || document).querySelectorAll("[data-stripe-pay]");
    for (var i = 0; i < forms.length; i++) setup(forms[i]);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
