// The jobs page: facet counts fetched after the table; ticking rows enables "Compare selected" (at most 10).
(function () {
  "use strict";
  // facet counts come after the table: counting a broad query's every match takes longer
  const facets = document.querySelector("[data-facets-src]");
  if (facets) {
    fetch(facets.dataset.facetsSrc).then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => { facets.innerHTML = html; facets.dataset.loaded = "1"; })
      .catch((status) => { facets.textContent = `facet counts unavailable (${status})`; });
  }
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
