// The developer pre-check page: drag-and-drop and an upload progress bar. Without JavaScript the form posts as is.
// A result page carries its permanent URL (data-permalink): the address bar shows it, so a reload keeps the result.
(function () {
  var link = document.body && document.body.getAttribute("data-permalink");
  if (link && window.history && history.replaceState && location.pathname + location.search !== link) {
    history.replaceState(null, "", link);
  }
})();
(function () {
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var drop = document.getElementById("drop"), input = document.getElementById("package");
  var box = document.getElementById("progress"), bar = document.getElementById("bar");
  var text = document.getElementById("progress-text");

  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    input.files = e.dataTransfer.files;
    send();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });

  function send() {
    if (!input.files.length) { input.reportValidity && input.reportValidity(); return; }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    box.classList.add("on");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round(100 * e.loaded / e.total);
      bar.value = pct;
      text.textContent = text.dataset.uploading + " " + pct + "%";
      if (e.loaded === e.total) text.textContent = text.dataset.checking;
    });
    xhr.addEventListener("load", function () {
      // The answer is the whole page (the result or the refusal, in the page's language): show it.
      document.open(); document.write(xhr.responseText); document.close();
    });
    xhr.addEventListener("error", function () { text.textContent = text.dataset.failed; });
    xhr.send(new FormData(form));
  }
})();

document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) return;
  field.select();
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(field.value); }
  else { document.execCommand("copy"); }
  button.textContent = "✓";
});
