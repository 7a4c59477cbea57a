// Copy buttons for the funding instructions: a progressive enhancement (the text stays
// selectable without script). Announces the result through the button's live region.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function (ok) {
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (status) status.textContent = ok ? "Copied" : "Copy failed: select the text";
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
  } else {
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    try { done(document.execCommand("copy")); } catch (e) { done(false); }
    area.remove();
  }
});
