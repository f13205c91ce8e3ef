/*
 * beacon.js - on every page of beacon-web: times in the viewer's zone,
 * the zone's name where a table says which it is, and the viewer's zone
 * in the filter forms (the dates typed there are days in it).  The server
 * writes every time as <time datetime="UTC ISO 8601">YYYY-MM-DD HH:MM
 * UTC</time> (with data-sec: HH:MM:SS) and the zone as
 * <span class="tz">UTC</span>.  window.beaconTime shows one more <time>
 * (live.js's rows).
 */
"use strict";

(function () {
	var zone = "UTC";
	try {
		zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
	} catch (e) { /* an old browser: times stay in UTC */ }

	function pad(n) {
		return (n < 10 ? "0" : "") + n;
	}

	/* localTime - "YYYY-MM-DD HH:MM[:SS]" of an ISO time in the viewer's zone */
	function localTime(iso, seconds) {
		/* at most milliseconds: Date.parse is only required to read those */
		var d = new Date(iso.replace(/(\.\d{3})\d+/, "$1"));
		if (isNaN(d.getTime()))
			return null;
		return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
			" " + pad(d.getHours()) + ":" + pad(d.getMinutes()) +
			(seconds ? ":" + pad(d.getSeconds()) : "");
	}

	/* showTime - a <time datetime> element in the viewer's zone (window.beaconTime) */
	function showTime(el) {
		var iso = el.getAttribute("datetime"), text;
		if (!iso || el.dataset.local)
			return;
		text = localTime(iso, el.hasAttribute("data-sec"));
		if (!text)
			return;
		el.textContent = text;
		el.title = iso.replace(/\.\d+Z$/, "Z") + " (shown in " + zone + ")";
		el.dataset.local = "1";
	}

	window.beaconTime = showTime;
	window.beaconZone = zone;

	function run() {
		var times = document.querySelectorAll("time[datetime]");
		for (var i = 0; i < times.length; i++)
			showTime(times[i]);
		var zones = document.querySelectorAll("span.tz");
		for (var z = 0; z < zones.length; z++)
			zones[z].textContent = zone;
		/* a form shown without a zone in its URL takes the viewer's */
		if (!/[?&]tz=/.test(window.location.search)) {
			var tz = document.querySelectorAll("form.filters input[name=tz]");
			for (var k = 0; k < tz.length; k++)
				tz[k].value = zone;
		}
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", run);
	else
		run();
})();
