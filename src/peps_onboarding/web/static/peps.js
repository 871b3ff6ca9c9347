/* Enhancements only (rule W5): every journey completes without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Rule A3: the rules ticked as the person types; « Créer » stays disabled until they
  // all hold. The server checks them again whatever this says.
  function passwordRules(form) {
    var password = form.querySelector("input[name=mot_de_passe]");
    var confirmation = form.querySelector("input[name=confirmation_mot_de_passe]");
    var submit = form.querySelector("[data-password-submit]");
    var status = form.querySelector("[data-password-status]");
    var tests = {
      length: function (v) { return v.length >= 8; },
      digit: function (v) { return /[0-9]/.test(v); },
      lower: function (v) { return /\p{Ll}/u.test(v); },
      upper: function (v) { return /\p{Lu}/u.test(v); },
      special: function (v) { return /[^\p{L}\p{N}\s\p{C}]/u.test(v); }
    };
    function update() {
      var value = password.value, all = true;
      form.querySelectorAll("[data-rule]").forEach(function (item) {
        var met = tests[item.getAttribute("data-rule")](value);
        item.setAttribute("data-met", met ? "true" : "false");
        all = all && met;
      });
      var same = confirmation.value === value;
      submit.disabled = !(all && same && value.length <= 128);
      status.textContent = all
        ? "Votre mot de passe respecte toutes les règles de sécurité." + (same || !confirmation.value ? "" : " La confirmation ne correspond pas au mot de passe saisi.")
        : "";
    }
    password.addEventListener("input", update);
    confirmation.addEventListener("input", update);
    update();
  }

  // Step 3: print the identifier, or hear it spelled by the browser's own voice.
  function identifierActions(box) {
    var print = document.createElement("button");
    print.type = "button";
    print.className = "button button--secondary";
    print.textContent = "Imprimer mon identifiant";
    print.addEventListener("click", function () { window.print(); });
    box.appendChild(print);
    if ("speechSynthesis" in window) {
      var listen = document.createElement("button");
      listen.type = "button";
      listen.className = "button button--secondary";
      listen.textContent = "Écouter mon identifiant";
      listen.addEventListener("click", function () {
        var utterance = new SpeechSynthesisUtterance(box.getAttribute("data-spelled"));
        utterance.lang = "fr-FR";
        utterance.rate = 0.7;
        window.speechSynthesis.cancel();
        window.speechSynthesis.speak(utterance);
      });
      box.appendChild(listen);
    }
  }

  // RGAA 2.2: a warning two minutes before the session ends, kept visible and announced.
  function sessionWarning(notice) {
    var ends = Date.parse(notice.getAttribute("data-session-ends"));
    var delay = ends - Date.now() - 120000;
    window.setTimeout(function () {
      notice.classList.add("session-notice--soon");
      notice.setAttribute("role", "alert");
      var text = notice.querySelector("p");
      text.textContent = "Votre session va bientôt se terminer. " + text.textContent;
    }, Math.max(delay, 0));
  }

  // RGAA 11.10: a link of the error summary moves focus to its field; a group of radios
  // (its fieldset is the link's target) gives focus to its checked or first choice.
  function focusTheField(event) {
    var link = event.target.closest("a[href^='#']");
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    var field = target;
    if (!target.matches("input, select, textarea, button")) {
      field = target.querySelector("input:not([type=hidden]):checked") ||
        target.querySelector("input:not([type=hidden]), select, textarea");
    }
    if (!field) { return; }
    event.preventDefault();
    target.scrollIntoView({block: "start"});
    field.focus({preventScroll: true});
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-password-form]").forEach(passwordRules);
    document.querySelectorAll("[data-enhance=identifier]").forEach(identifierActions);
    document.querySelectorAll("[data-session-ends]").forEach(sessionWarning);
    var summary = document.getElementById("erreurs");
    if (summary) {
      summary.focus();
      summary.addEventListener("click", focusTheField);
    }
  });
})();
