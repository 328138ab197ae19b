// The jobs page: ticking rows enables "Compare selected" (at most 10).
(function () {
  "use strict";
  const form = document.getElementById("compare-form");
  if (!form) return;
  const button = document.getElementById("compare-button");
  const picked = () => Array.from(form.querySelectorAll("input[name=pick]:checked")).map((b) => b.value);
  form.addEventListener("change", () => {
    const n = picked().length;
    button.disabled = n < 2 || n > 10;
    button.textContent = n ? `Compare ${n} selected` : "Compare selected";
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    window.location.href = "/compare?jobs=" + encodeURIComponent(picked().join(","));
  });
})();
