/* A background job's page: poll its status and move the progress bar; when the job is over,
   reload so the server draws the result (every visible word comes from the server). */
(function () {
  "use strict";
  var card = document.getElementById("job-card");
  if (!card || card.getAttribute("data-finished") === "true") { return; }
  var url = card.getAttribute("data-status-url");
  var bar = document.getElementById("job-bar");
  var progress = document.getElementById("job-progress");
  var statusText = document.getElementById("job-status");
  var count = document.getElementById("job-count");
  var delay = 700, failures = 0;

  function show(data) {
    bar.style.width = data.percent + "%";
    bar.textContent = data.percent + "%";
    progress.setAttribute("aria-valuenow", data.percent);
    statusText.textContent = data.status_label;
    if (data.count_label) { count.textContent = data.count_label; }
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { return retry(); }
      failures = 0;
      var data = JSON.parse(request.responseText);
      show(data);
      if (data.finished) { window.location.reload(); return; }
      delay = Math.min(delay * 1.3, 3000);
      window.setTimeout(poll, delay);
    };
    request.onerror = retry;
    request.send();
  }

  function retry() {
    failures += 1;
    window.setTimeout(poll, Math.min(2000 * failures, 15000));
  }

  window.setTimeout(poll, delay);
})();
