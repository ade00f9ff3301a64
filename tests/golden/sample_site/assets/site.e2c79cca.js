/* Small enhancements for every page; the pages work without them. */
(function () {
  "use strict";
  // "Copy" next to a read-only link field (shown only when copying can work).
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field || !navigator.clipboard) return;
    var label = button.lastChild;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        label.textContent = "Copied";
        setTimeout(function () { label.textContent = "Copy"; }, 2000);
      }, function () {
        field.select();
      });
    });
  });
  // Selecting the whole link on focus makes manual copying easy too.
  Array.prototype.forEach.call(document.querySelectorAll("input[readonly]"), function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
