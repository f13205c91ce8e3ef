/*
 * live.js - the Live page: each event of the user's messages, as
 * /live/stream sends it (Server-Sent Events, event "beacon", data an
 * event object of the API), becomes a row on top of #live-events.
 * Text goes in with textContent only.
 */
"use strict";

(function () {
	var MAX_ROWS = 500;
	var table = document.getElementById("live-events");
	var status = document.getElementById("live-status");
	if (!table || !window.EventSource)
		return;
	var body = table.tBodies[0];

	function setStatus(state, text) {
		if (!status)
			return;
		status.dataset.state = state;
		status.textContent = text;
	}

	function cell(tr, cls, text) {
		var td = document.createElement("td");
		if (cls)
			td.className = cls;
		td.textContent = text === null || text === undefined || text === "" ? "\u2013" : text;
		tr.appendChild(td);
		return td;
	}

	function place(ev) {
		var parts = [ev.city, ev.region, ev.country].filter(function (p) { return p; });
		if (parts.length)
			return parts.join(", ");
		return ev["class"] === "proxy" ? "unknown (proxy)" : "";
	}

	function counted(ev) {
		if (typeof ev.counted === "boolean")
			return ev.counted;
		if (ev.kind === "reply")
			return true;
		if (ev.kind === "click" && ev.link_n === 0)
			return false;
		return ev["class"] === "human" || ev["class"] === "proxy";
	}

	function addRow(ev) {
		var engagement = ev.kind === "open" || ev.kind === "click" || ev.kind === "download";
		var tr = document.createElement("tr");
		tr.className = "event fresh" + (engagement && !counted(ev) ? " uncounted" : "");

		var tdTime = cell(tr, "time", "");
		var a = document.createElement("a");
		var t = document.createElement("time");
		t.setAttribute("datetime", ev.at || "");
		t.textContent = ev.at || "";
		if (ev.message) {
			a.href = "/m/" + encodeURIComponent(ev.message);
			a.appendChild(t);
			tdTime.textContent = "";
			tdTime.appendChild(a);
		} else {
			tdTime.textContent = "";
			tdTime.appendChild(t);
		}
		if (window.beaconTime)
			window.beaconTime(t);

		cell(tr, "addr", ev.recipient);
		cell(tr, "kind", ev.kind);
		var tdClass = cell(tr, "class", "");
		tdClass.textContent = "";
		var cls = document.createElement("span");
		cls.className = "cls";
		cls.textContent = ev["class"] || "\u2013";
		tdClass.appendChild(cls);
		if (engagement && !counted(ev)) {
			var why = document.createElement("span");
			why.className = "why";
			why.textContent = "not counted" + (ev.why ? ": " + ev.why : ev.reason ? ": " + ev.reason : "");
			tdClass.appendChild(why);
		}
		cell(tr, "", place(ev));
		cell(tr, "", ev.device);
		cell(tr, "", ev.os);
		cell(tr, "", ev.client);
		var target = cell(tr, "target", ev.link || ev.attachment);
		if (ev.link)
			target.className = "target url";

		var waiting = document.getElementById("live-waiting");
		if (waiting)
			waiting.remove();
		body.insertBefore(tr, body.firstChild);
		while (body.rows.length > MAX_ROWS)
			body.deleteRow(body.rows.length - 1);
	}

	var source = new EventSource(table.dataset.stream || "/live/stream");
	source.onopen = function () {
		setStatus("live", "Live: new events appear on top.");
	};
	source.onerror = function () {
		if (source.readyState === EventSource.CLOSED)
			setStatus("error", "Disconnected. Reload the page to try again.");
		else
			setStatus("connecting", "Reconnecting\u2026");
	};
	source.addEventListener("beacon", function (e) {
		try {
			addRow(JSON.parse(e.data));
		} catch (err) {
			/* a line that is not an event object: nothing to show */
		}
	});
})();
