/*
 * live.js - the Live page: the user's last events (the JSON array in
 * <script type="application/json" id="live-recent">), then each event of
 * the user's messages as /live/stream sends it (Server-Sent Events, event
 * "beacon"), on top of #live-events as a tr.event.new.  Both are the API's
 * event objects (beacon-web(8)): at, kind, class, message, subject,
 * recipient, place, device, os, client, link, attachment, counted, why,
 * reason.  An "end" event (the session ended: signed out elsewhere,
 * expired, the account disabled) closes the stream for good.  The cells are the message page's (page_message.c): the same
 * classes, so they read the same on a laptop and as cards on a phone.
 * Text goes in with textContent only.
 */
"use strict";

(function () {
	var MAX_ROWS = 500;
	var DASH = "\u2013";
	var table = document.getElementById("live-events");
	var status = document.getElementById("live-status");
	if (!table)
		return;
	var body = table.tBodies[0];
	var fresh = 0;

	function setStatus(state, text) {
		if (!status)
			return;
		status.dataset.state = state;
		status.textContent = text;
	}

	/* clock - HH:MM:SS now, in the viewer's zone */
	function clock(d) {
		return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
	}

	/* td - an empty td of class CLS at the end of TR */
	function td(tr, cls) {
		var el = document.createElement("td");
		el.className = cls;
		tr.appendChild(el);
		return el;
	}

	/* cell - a td of class CLS with TEXT; an empty one is a dash of class "none" */
	function cell(tr, cls, text) {
		var none = text === null || text === undefined || text === "";
		var el = td(tr, cls + (none ? " none" : ""));
		el.textContent = none ? DASH : text;
		return el;
	}

	function span(cls, text) {
		var s = document.createElement("span");
		s.className = cls;
		s.textContent = text;
		return s;
	}

	/* row - the tr of event EV, as page_message.c writes one */
	function row(ev, isNew) {
		var engagement = ev.kind === "open" || ev.kind === "click" || ev.kind === "download";
		var uncounted = engagement && ev.counted !== true;
		var tr = document.createElement("tr");
		tr.className = "event" + (isNew ? " new fresh" : "") + (uncounted ? " uncounted" : "") +
			(ev.late ? " late" : "");

		var t = document.createElement("time");
		t.setAttribute("datetime", ev.at || "");
		t.setAttribute("data-sec", "");
		t.textContent = ev.at || DASH;
		td(tr, "time").appendChild(t);
		if (window.beaconTime)
			window.beaconTime(t);

		var a = document.createElement("a");
		a.href = "/m/" + encodeURIComponent(ev.message || "");
		if (ev.subject)
			a.textContent = ev.subject;
		else
			a.appendChild(span("muted", "(no subject)"));
		td(tr, "subject wide").appendChild(a);

		cell(tr, "addr wide", ev.recipient);
		cell(tr, "kind", ev.kind);

		if (!ev["class"]) {
			cell(tr, "class", null);
		} else {
			var tdClass = td(tr, "class");
			tdClass.appendChild(span("cls", ev["class"]));
			if (uncounted || ev["class"] === "proxy") {
				var why = span("why", "");
				if (ev.reason)
					why.title = ev.reason;
				if (uncounted) {
					var b = document.createElement("b");
					b.textContent = "not counted";
					why.appendChild(b);
					why.appendChild(document.createTextNode(": "));
				}
				why.appendChild(document.createTextNode(ev.why || "not a counted class"));
				tdClass.appendChild(why);
			}
		}

		if (!ev.place && ev["class"] === "proxy")
			td(tr, "meta place").appendChild(span("muted", "unknown (proxy)"));
		else
			cell(tr, "meta place", ev.place);
		cell(tr, "meta device", ev.device);
		cell(tr, "meta os", ev.os);
		cell(tr, "meta client", ev.client);
		if (ev.link)
			td(tr, "target wide").appendChild(span("url", ev.link));
		else
			cell(tr, "target wide", ev.attachment);
		return tr;
	}

	function addNew(ev) {
		var waiting = document.getElementById("live-waiting");
		if (waiting)
			waiting.remove();
		body.insertBefore(row(ev, true), body.firstChild);
		while (body.rows.length > MAX_ROWS)
			body.deleteRow(body.rows.length - 1);
		fresh++;
		setStatus("live", "Connected \u00b7 " + fresh + " new event" + (fresh === 1 ? "" : "s") +
			" since you opened the page, the last at " + clock(new Date()));
	}

	/* the last events, newest first as the server sends them */
	var recent = document.getElementById("live-recent");
	if (recent) {
		try {
			JSON.parse(recent.textContent).forEach(function (ev) {
				body.appendChild(row(ev, false));
			});
		} catch (e) {
			/* not an array of events: the table starts empty */
		}
	}

	if (!window.EventSource) {
		setStatus("error", "This browser cannot receive live events; reload the page to see new ones.");
		return;
	}
	var source = new EventSource(table.dataset.stream || "/live/stream");
	source.onopen = function () {
		if (fresh === 0)
			setStatus("live", "Connected at " + clock(new Date()) +
				" \u00b7 waiting for new events; they appear on top.");
	};
	source.onerror = function () {
		if (source.readyState === EventSource.CLOSED)
			setStatus("error", "Disconnected. Reload the page to try again.");
		else
			setStatus("connecting", "Connection lost; reconnecting\u2026");
	};
	source.addEventListener("end", function (e) {
		var why = "the session ended: sign in again";
		source.close();
		try {
			why = JSON.parse(e.data).reason || why;
		} catch (err) {
			/* no reason given: the default one */
		}
		setStatus("error", "Stopped: " + why + ".");
	});
	source.addEventListener("beacon", function (e) {
		var ev;
		try {
			ev = JSON.parse(e.data);
		} catch (err) {
			return;	/* a line that is not an event object: nothing to show */
		}
		addNew(ev);
	});
})();
