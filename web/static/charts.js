/*
 * charts.js - the Summary page's charts: opens and clicks over time,
 * opens by client.  The data is the JSON in
 * <script type="application/json" id="chart-data"> (not executed, so the
 * Content-Security-Policy allows it); Chart.js 3 is /static/chart.min.js
 * (Debian's libjs-chart.js), loaded before this file.
 */
"use strict";

(function () {
	var block = document.getElementById("chart-data");
	if (!block || typeof window.Chart === "undefined")
		return;
	var data;
	try {
		data = JSON.parse(block.textContent);
	} catch (e) {
		return;
	}
	var css = getComputedStyle(document.documentElement);
	function color(name, fallback) {
		return (css.getPropertyValue(name) || "").trim() || fallback;
	}
	var open = color("--open", "#2563eb"), click = color("--click", "#ea7a1a");
	Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
	Chart.defaults.color = "#475467";
	Chart.defaults.animation = false;

	/* tickLabel - a slot's label short enough for an axis: the year goes */
	function tickLabel(label) {
		if (data.unit === "hour")
			return label.slice(5);		/* MM-DD HH:00 */
		if (data.unit === "day")
			return label.slice(5);		/* MM-DD */
		return label;
	}

	var time = document.getElementById("chart-time");
	if (time && data.labels && data.labels.length) {
		/* a slot's opens and clicks side by side, touching (barPercentage 1), each
		 * at most BAR px wide: the pair takes that share of the slot */
		var BAR = 28;
		var slot = Math.max(1, (time.parentNode.clientWidth - 60) / data.labels.length);
		var share = Math.min(0.8, 2 * BAR / slot);
		new Chart(time, {
			type: "bar",
			data: {
				labels: data.labels,
				datasets: [
					{ label: "opens", data: data.opens, backgroundColor: open,
					  barPercentage: 1, categoryPercentage: share },
					{ label: "clicks", data: data.clicks, backgroundColor: click,
					  barPercentage: 1, categoryPercentage: share }
				]
			},
			options: {
				responsive: true,
				maintainAspectRatio: false,
				interaction: { mode: "index", intersect: false },
				plugins: {
					legend: { position: "bottom" },
					title: { display: true, text: "per " + (data.unit || "day") +
						 " (" + (data.tz || "UTC") + ")" }
				},
				scales: {
					x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12,
						      callback: function (v) {
							return tickLabel(this.getLabelForValue(v));
						      } } },
					y: { beginAtZero: true, ticks: { precision: 0 } }
				}
			}
		});
	}

	var clients = document.getElementById("chart-clients");
	if (clients && data.clients && data.clients.labels.length) {
		new Chart(clients, {
			type: "bar",
			data: {
				labels: data.clients.labels,
				datasets: [{ label: "opens", data: data.clients.opens, backgroundColor: open }]
			},
			options: {
				indexAxis: "y",
				responsive: true,
				maintainAspectRatio: false,
				plugins: { legend: { display: false } },
				scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
			}
		});
	}
})();
