/* Notice pages: live preview while composing, live progress on the notice page, confirmations.
   Plain JavaScript, no library; every visible word comes from the server (already translated). */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  // Buttons with data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // The individual deputies chosen on the compose page (hidden inputs the picker keeps).
  function chosenDeputies(form) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=deputy_ids]"), function (e) { return parseInt(e.value, 10); });
  }

  // --- compose: the individual-deputy picker, searching the roster as you type -------------------
  // Up/Down move through the answers, Enter chooses, Escape closes; a chosen deputy's x removes it.
  // Choosing or removing fires "change" on the form, so the preview counts the audience again.
  (function (picker) {
    if (!picker) { return; }
    var search = document.getElementById("deputy-search");
    var results = document.getElementById("deputy-results");
    var status = document.getElementById("deputy-search-status");
    var chosenList = document.getElementById("chosen-deputies");
    var asking = 0, pause = null, active = -1;
    var items = function () { return results.querySelectorAll("[role=option]"); };
    var isChosen = function (id) { return !!chosenList.querySelector("li[data-id='" + id + "']"); };
    var changed = function () { chosenList.dispatchEvent(new Event("change", {bubbles: true})); };
    var close = function () {
      results.hidden = true; results.textContent = ""; active = -1;
      search.setAttribute("aria-expanded", "false"); search.removeAttribute("aria-activedescendant");
    };
    var highlight = function (index) {
      var options = items();
      if (!options.length) { return; }
      active = (index + options.length) % options.length;
      Array.prototype.forEach.call(options, function (o, i) {
        o.classList.toggle("active", i === active); o.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      search.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({block: "nearest"});
    };
    var removeButton = function (li, label) {
      var button = document.createElement("button");
      button.type = "button"; button.className = "btn btn-link btn-sm p-0 ml-1 text-danger remove-deputy";
      button.setAttribute("aria-label", picker.getAttribute("data-remove") + " " + label);
      button.textContent = "\u00d7";
      li.appendChild(button);
    };
    var choose = function (item) {
      if (!isChosen(item.id)) {
        var li = document.createElement("li");
        li.className = "chosen-deputy border rounded bg-light px-2 py-1 mr-1 mb-1";
        li.setAttribute("data-id", item.id);
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "deputy_ids"; input.value = item.id;
        var span = document.createElement("span");
        span.className = "chosen-label"; span.textContent = item.label;
        li.appendChild(input); li.appendChild(span); removeButton(li, item.label);
        chosenList.appendChild(li);
        changed();
      }
      search.value = ""; status.textContent = ""; close(); search.focus();
    };
    var show = function (data) {
      results.textContent = ""; active = -1;
      (data.items || []).forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = "deputy-option-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        li.className = "list-group-item list-group-item-action py-1 deputy-option";
        li.setAttribute("data-id", item.id);
        li.textContent = item.label;
        var note = [item.note, isChosen(item.id) ? picker.getAttribute("data-chosen") : ""].filter(Boolean).join(", ");
        if (note) {
          var small = document.createElement("small"); small.className = "text-muted ml-1"; small.textContent = "(" + note + ")";
          li.appendChild(small);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keeps the focus in the box
        li.addEventListener("click", function () { choose(item); });
        results.appendChild(li);
      });
      if (data.more) {  // also at the list's foot, where the list would cover the line below the box
        var foot = document.createElement("li");
        foot.className = "list-group-item py-1 small text-muted deputy-more"; foot.setAttribute("aria-hidden", "true");
        foot.textContent = picker.getAttribute("data-more");
        results.appendChild(foot);
      }
      var found = (data.items || []).length;
      results.hidden = !found;
      search.setAttribute("aria-expanded", found ? "true" : "false");
      status.textContent = !found ? picker.getAttribute("data-none") : data.more ? picker.getAttribute("data-more") : "";
      if (found) { highlight(0); }
    };
    var ask = function () {
      var q = search.value.trim(), mine = ++asking;
      if (!q) { close(); status.textContent = ""; return; }
      fetch(picker.getAttribute("data-search-url") + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) { if (mine === asking) { show(data); } })  // a late answer to older typing is dropped
        .catch(function () { if (mine === asking) { close(); status.textContent = picker.getAttribute("data-failed"); } });
    };
    // Typing here is not part of the notice: the preview need not hear about it.
    search.addEventListener("input", function (event) {
      event.stopPropagation(); clearTimeout(pause); pause = setTimeout(ask, 200);
    });
    search.addEventListener("change", function (event) { event.stopPropagation(); });
    search.addEventListener("keydown", function (event) {
      var open = !results.hidden;
      if (event.key === "ArrowDown" || event.key === "Down") { event.preventDefault(); if (open) { highlight(active + 1); } else { ask(); } }
      else if (event.key === "ArrowUp" || event.key === "Up") { if (open) { event.preventDefault(); highlight(active - 1); } }
      else if (event.key === "Enter") {
        event.preventDefault();  // Enter here chooses a deputy, it never submits the notice
        if (open && active >= 0) { items()[active].click(); }
      } else if (event.key === "Escape" || event.key === "Esc") { if (open) { event.preventDefault(); close(); } }
    });
    search.addEventListener("blur", function () { setTimeout(close, 150); });
    chosenList.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-deputy");
      if (!button) { return; }
      button.closest("li").remove();
      changed();
      search.focus();
    });
  })(document.getElementById("deputy-picker"));

  // --- compose: preview as you type (debounced) -------------------------------------------------
  var form = document.getElementById("compose-form");
  if (form && !form.hasAttribute("data-template")) {
    var timer = null, seq = 0;
    var checked = function (name) {
      return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"), function (e) { return e.value; });
    };
    var payload = function () {
      var reply = form.querySelector("input[name=reply]:checked");
      return {
        body: form.querySelector("[name=body]").value,
        reply: reply ? reply.value : "none",
        reply_deadline: form.querySelector("[name=reply_deadline]").value || null,
        notice_id: form.getAttribute("data-notice-id") ? parseInt(form.getAttribute("data-notice-id"), 10) : null,
        audience: {
          levels: checked("levels"),
          tags: checked("tags"),
          groups: checked("groups").map(function (v) { return parseInt(v, 10); }),
          deputy_ids: chosenDeputies(form)
        }
      };
    };
    var set = function (id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } };
    var show = function (data) {
      var longest = data.longest || {};
      set("pv-chars", longest.chars !== undefined ? longest.chars : "-");
      set("pv-encoding", longest.encoding || "-");
      set("pv-segments", longest.segments !== undefined ? longest.segments : "-");
      set("pv-max", data.max_segments || "-");
      set("pv-recipients", data.recipients);
      set("pv-total", data.total_segments !== undefined ? data.total_segments : "-");
      set("pv-opted-out", data.skipped ? data.skipped.opted_out : 0);
      set("pv-inactive", data.skipped ? data.skipped.inactive : 0);
      set("pv-name", data.example && data.example.name ? data.example.name : "");
      set("pv-example", data.example ? data.example.text : "");
      var codeRow = document.getElementById("pv-code-row");
      if (codeRow) {
        codeRow.hidden = !data.reply_code;
        set("pv-code", data.reply_code ? "#" + data.reply_code : "");
      }
      var messages = [];
      Object.keys(data.errors || {}).forEach(function (key) {
        var value = data.errors[key];
        if (Array.isArray(value)) { messages = messages.concat(value); }
        else { Object.keys(value).forEach(function (k) { messages = messages.concat(value[k]); }); }
      });
      set("pv-errors", messages.join(" "));
      var segments = document.getElementById("pv-segments");
      if (segments) { segments.classList.toggle("text-danger", !!(longest.segments > data.max_segments)); }
      document.getElementById("preview-card").setAttribute("data-updated", String(seq));
    };
    var refresh = function () {
      var mine = ++seq;
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify(payload())
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (mine === seq) { show(data); }  // an older answer arriving late changes nothing
      }).catch(function () { /* offline for a moment: the next keystroke tries again */ });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 300); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    refresh();
  }

  // --- notice page: progress every 2 s without reloading ----------------------------------------
  var card = document.getElementById("progress-card");
  if (card) {
    var url = card.getAttribute("data-progress-url");
    var cell = function (row, cls, text) { var td = row.querySelector("." + cls); if (td) { td.textContent = text || ""; } };
    var render = function (data) {
      var c = data.counts;
      Object.keys(c).forEach(function (status) {
        var el = document.getElementById("count-" + status); if (el) { el.textContent = c[status]; }
      });
      Object.keys(data.bars).forEach(function (bar) {
        var el = document.getElementById("bar-" + bar); if (el) { el.style.width = data.bars[bar] + "%"; }
      });
      var badge = document.querySelector("#notice-status-line .notice-status");
      if (badge && badge.getAttribute("data-status") !== data.status) {
        badge.textContent = data.status_label;
        badge.setAttribute("data-status", data.status);
        // A notice that has finished can no longer be cancelled: drop the stale button.
        if (data.status === "completed" || data.status === "cancelled") {
          var cancel = document.getElementById("btn-cancel");
          if (cancel) { cancel.closest("form").remove(); }
        }
      }
      var body = document.querySelector("#recipients tbody");
      var waiting = document.getElementById("no-messages-yet");
      if (waiting && data.messages.length) { waiting.remove(); }
      data.messages.forEach(function (m) {
        var row = body.querySelector("tr[data-message-id='" + m.id + "']");
        if (!row) {
          row = document.createElement("tr");
          row.setAttribute("data-message-id", m.id);
          ["m-name", "m-to", "m-status", "m-error", "m-queued", "m-sent", "m-delivered"].forEach(function (cls) {
            var td = document.createElement("td"); td.className = cls; row.appendChild(td);
          });
          cell(row, "m-name", m.name); cell(row, "m-to", m.to);
          body.appendChild(row);
        }
        cell(row, "m-status", m.status_label);
        row.querySelector(".m-status").setAttribute("data-status", m.status);
        cell(row, "m-error", m.error_message);
        cell(row, "m-queued", m.queued_at); cell(row, "m-sent", m.sent_at);
        cell(row, "m-delivered", m.delivered_at || m.failed_at);
      });
      var history = document.getElementById("notice-history");
      if (history && data.history.length > history.children.length) {
        data.history.slice(history.children.length).forEach(function (e) {
          var li = document.createElement("li");
          li.className = "list-group-item py-1"; li.setAttribute("data-action", e.action);
          var at = document.createElement("span"); at.className = "text-muted"; at.textContent = e.at;
          li.appendChild(at);
          li.appendChild(document.createTextNode(" " + e.label + " · " + e.who + (e.reason ? ": " + e.reason : "")));
          history.appendChild(li);
        });
      }
      document.getElementById("progress-updated").textContent = data.as_of;  // server time, in TIMEZONE
      card.setAttribute("data-live", data.live ? "true" : "false");
      return data.live;
    };
    var poll = function () {
      // X-Notifier-Poll: the page asks by itself, which keeps no idle session alive.
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json", "X-Notifier-Poll": "1"}})
        .then(function (r) { return r.json(); })
        .then(function (data) { if (render(data)) { setTimeout(poll, 2000); } })
        .catch(function () { setTimeout(poll, 2000); });
    };
    if (card.getAttribute("data-live") === "true") { setTimeout(poll, 2000); }
  }

  // --- notice page: the reply tally, fetched again every 5 s while the page is in view -------------
  var TALLY_EVERY = 5000;
  var refreshTally = function () {
    var tally = document.getElementById("reply-tally");
    if (!tally) { return; }
    if (document.visibilityState === "hidden") { setTimeout(refreshTally, TALLY_EVERY); return; }
    fetch(tally.getAttribute("data-tally-url"), {credentials: "same-origin", headers: {"X-Notifier-Poll": "1"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("reply-tally");
        if (fresh) {
          // Keep the name lists the reader opened or closed as they were.
          tally.querySelectorAll("details[id]").forEach(function (d) {
            var same = fresh.querySelector("#" + d.id); if (same) { same.open = d.open; }
          });
          tally.replaceWith(fresh);
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(refreshTally, TALLY_EVERY); });
  };
  if (document.getElementById("reply-tally")) { setTimeout(refreshTally, TALLY_EVERY); }

  // --- compose from an approved template: pick one, fill its variables, see the text -------------
  var picker = document.getElementById("template");
  if (picker && form) {
    picker.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("template", picker.value);
      window.location.href = url.toString();
    });
  }
  var box = document.getElementById("template-box");
  if (box) {
    var max = parseInt(box.getAttribute("data-max") || "35", 10);
    var sample = JSON.parse(box.getAttribute("data-sample") || "{}");
    var text = box.getAttribute("data-text") || "", sign = box.getAttribute("data-signature") || "";
    var put = function (id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } };
    var render = function () {
      var over = false;
      var filled = text.replace(/\$\{(\w+)\}/g, function (all, name) {
        var input = document.getElementById("param-" + name);
        var raw = input ? input.value : "";
        var value = (raw || sample[name] || "").replace(/\{(\w+)\}/g, function (a, key) { return sample[key] || ""; });
        var count = document.getElementById("count-" + name);
        if (count) {
          count.textContent = value.length + " / " + max;
          count.classList.toggle("text-danger", value.length > max);
        }
        if (input) { input.classList.toggle("is-invalid", value.length > max || /https?:\/\/|www\.|[【】]/i.test(value)); }
        over = over || value.length > max;
        return value;
      });
      var full = sign + filled;
      var ascii = /^[\x00-\x7f]*$/.test(full);
      var single = ascii ? 160 : 70, part = ascii ? 153 : 67;
      var segments = full.length <= single ? 1 : Math.ceil(full.length / part);
      put("pv-example", full);
      put("pv-chars", String(full.length));
      put("pv-segments", String(segments));
      put("pv-encoding", ascii ? "GSM-7" : "UCS-2");
    };
    Array.prototype.forEach.call(box.querySelectorAll(".template-param"), function (input) {
      input.addEventListener("input", render);
    });
    render();
    // Who receives it: the same preview as an ordinary notice's, asked for the audience only.
    var chosen = function (name) {
      return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"), function (e) { return e.value; });
    };
    // Answers may come back out of order on a busy server: only the latest question's answer counts.
    var asked = 0;
    var audience = function () {
      var mine = ++asked;
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify({body: "", reply: "none", audience: {levels: chosen("levels"), tags: chosen("tags"),
          groups: chosen("groups").map(function (v) { return parseInt(v, 10); }),
          deputy_ids: chosenDeputies(form)}})
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (mine !== asked) { return; }
        var segments = parseInt(document.getElementById("pv-segments").textContent, 10) || 1;
        put("pv-recipients", data.recipients);
        put("pv-total", String(segments * (data.recipients || 0)));
        put("pv-max", data.max_segments || "-");
        put("pv-opted-out", data.skipped ? data.skipped.opted_out : 0);
        put("pv-inactive", data.skipped ? data.skipped.inactive : 0);
        document.getElementById("preview-card").setAttribute("data-updated", "audience");
      }).catch(function () {});
    };
    form.addEventListener("change", audience);
    form.addEventListener("input", function () {
      var segments = parseInt(document.getElementById("pv-segments").textContent, 10) || 1;
      var recipients = parseInt(document.getElementById("pv-recipients").textContent, 10) || 0;
      put("pv-total", String(segments * recipients));
    });
    audience();
  }
})();
