/* 12345 hotline entry: keyboard shortcuts only; every rule lives on the server.
   Ctrl+Enter submits from any field, Esc clears the form for the next call, Alt+1..3 takes
   a suggested category (the suggestions panel is refreshed by htmx as the operator types). */
(function () {
  "use strict";
  var form = document.getElementById("operator-form");
  if (!form) return;
  var phone = document.getElementById("id_reporter_phone");
  var category = document.getElementById("id_category");
  var announce = document.getElementById("operator-announce");
  var panel = document.getElementById("suggestions");
  var sent = false;

  function say(text) {
    announce.textContent = text;
  }

  function clearForm() {
    form.querySelectorAll("input, textarea, select").forEach(function (el) {
      if (el.type === "hidden") return;
      if (el.type === "checkbox") el.checked = false;
      else el.value = el.dataset.reset || "";
      el.removeAttribute("aria-invalid");
    });
    form.querySelectorAll(".errorlist, #form-errors").forEach(function (el) {
      el.remove();
    });
    form.querySelectorAll(".has-error").forEach(function (el) {
      el.classList.remove("has-error");
    });
    if (panel && window.htmx) window.htmx.trigger(panel, "refresh");
    phone.focus();
    say(form.dataset.cleared);
  }

  function pick(n) {
    var button = panel && panel.querySelector('[data-pick="' + n + '"]');
    if (!button) {
      say(form.dataset.none);
      return;
    }
    category.value = button.dataset.category;
    category.dispatchEvent(new Event("change", { bubbles: true }));
    say(form.dataset.picked + " " + button.dataset.category);
  }

  form.addEventListener("submit", function (event) {
    // The server makes one case per key anyway; this only spares it the second request.
    if (sent) event.preventDefault();
    sent = true;
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      if (!sent) form.requestSubmit();
    } else if (event.key === "Escape" && !event.ctrlKey && !event.altKey) {
      event.preventDefault();
      // In the category box Esc closes its list and empties the box, as search boxes do;
      // the call typed so far is not thrown away with it.
      if (event.target === category && category.value) {
        category.value = "";
        category.dispatchEvent(new Event("change", { bubbles: true }));
      } else {
        clearForm();
      }
    } else if (event.altKey && !event.ctrlKey && /^Digit[1-3]$/.test(event.code)) {
      event.preventDefault();
      pick(event.code.slice(-1));
    }
  });

  if (panel) {
    panel.addEventListener("click", function (event) {
      var button = event.target.closest("[data-pick]");
      if (button) pick(button.dataset.pick);
    });
  }
})();
