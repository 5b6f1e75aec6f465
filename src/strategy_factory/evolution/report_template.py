"""The Jinja2 template of the run report, with its CSS inline (the page loads nothing).

Numeric cells carry their full-precision value in ``data-value`` (and, in the tables a
reader may want to check, a ``data-field`` name), so what the page shows can be compared
with the store.
"""

STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --soft: #f5f7fa;
        --good: #1a9850; --bad: #d73027; --gold: #b7950b; --accent: #2b5da8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: #fff; }
header { padding: 20px 32px; background: var(--soft); border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 22px; }
main { padding: 8px 32px 32px; max-width: 1400px; }
section { margin-top: 28px; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin-bottom: 6px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
         font-weight: 600; background: var(--line); vertical-align: middle; }
.badge.completed { background: #d4edda; } .badge.failed { background: #f8d7da; }
.badge.stopped, .badge.running, .badge.pending { background: #fff3cd; }
.verdict { padding: 12px 16px; border-radius: 6px; border-left: 5px solid var(--muted);
           background: var(--soft); font-size: 15px; }
.verdict.promoted { border-color: var(--gold); background: #fff8e1; }
.verdict.failed { border-color: var(--bad); background: #fdecea; }
.note { padding: 8px 12px; border-left: 4px solid var(--gold); background: #fffbea; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 20px;
        align-items: start; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.promoted td { background: #fff8e1; }
.met { color: var(--good); font-weight: 600; } .missed { color: var(--bad); font-weight: 600; }
.chart { margin: 10px 0 18px; }
pre.error { white-space: pre-wrap; background: #fdecea; padding: 10px; border-radius: 4px; }
footer { padding: 16px 32px; color: var(--muted); border-top: 1px solid var(--line); }
"""

TEMPLATE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run {{ run.id }} · {{ run.symbol }} · Strategy Factory report</title>
<style>"""
    + STYLE
    + """</style>
</head>
<body>
{% macro cell(value, field="") -%}
<td class="num"{% if field %} data-field="{{ field }}"{% endif %}
 data-value="{{ value|exact }}">{{ value|number }}</td>
{%- endmacro %}
{% macro chart(div_id, missing) -%}
{% if div_id in charts %}<div class="chart" data-chart="{{ div_id }}">{{ charts[div_id] }}</div>
{% else %}<p class="muted">{{ missing }}</p>{% endif %}
{%- endmacro %}
<header>
  <h1>Run <span id="run-id">{{ run.id }}</span> · <span id="run-symbol">{{ run.symbol }}</span>
    <span class="badge {{ run.status }}" id="run-status">{{ run.status }}</span></h1>
  <div class="muted">stop reason: {{ run.stop_reason or "—" }}
    · created {{ run.created_at|when }} · started {{ run.started_at|when }}
    · finished {{ run.finished_at|when }}</div>
</header>
<main>
<section id="verdict">
  <div class="verdict {{ verdict_class }}">
    <strong>Verdict:</strong> <span id="verdict-text">{{ verdict }}</span>
    {% if promotion %}(model {{ promotion.model_id }}, DSR {{ promotion.dsr|number }}
    after {{ promotion.configurations_tried|number }} configurations tried){% endif %}
    {% if detail.misses or detail.not_judged %}
    <ul id="verdict-reasons">
      {% for m in detail.misses %}<li>{{ m.period }}: {{ m.text }}
        (generation{{ "s" if m.generations|length > 1 }}
        {{ m.generations|join(", ") }})</li>{% endfor %}
      {% for g in detail.not_judged %}<li>generation {{ g.generation }}: {{ g.note }}</li>
      {% endfor %}
    </ul>
    {% endif %}
  </div>
  {% if run.error %}<pre class="error" id="run-error">{{ run.error }}</pre>{% endif %}
</section>

<section id="overview" class="grid">
  <div>
    <h3>Run</h3>
    <dl>
      <dt>algorithm</dt><dd>{{ config.algorithm }}</dd>
      <dt>generations</dt>
      <dd>{{ run.models_trained }} trained of at most {{ config.max_generations }}</dd>
      <dt>prune</dt>
      <dd>{{ config.prune_fraction|number }} of the features per generation,
        keeping at least {{ config.min_features }}</dd>
      <dt>references</dt><dd>{{ config.reference_symbols|join(", ") or "none" }}</dd>
      <dt>tickers</dt><dd>{{ config.tickers|join(", ") }}</dd>
      <dt>timeframe</dt><dd>{{ config.timeframe or "as stored" }}</dd>
      <dt>configurations tried</dt>
      <dd id="configurations-tried" data-value="{{ run.configurations_tried }}">
        {{- run.configurations_tried|number }}</dd>
      <dt>simulations</dt>
      <dd>{{ run.simulations_completed|number }} of about {{ run.simulations_total|number }}</dd>
      <dt>best selection SQN-100</dt>
      <dd data-value="{{ run.best_sqn_100|exact }}">{{ run.best_sqn_100|number }}</dd>
      <dt>last step</dt><dd>{{ run.step_status or "—" }}</dd>
    </dl>
  </div>
  <div>
    <h3>Strategy grid and costs</h3>
    <dl>
      <dt>thresholds</dt>
      <dd>{% if strategy.thresholds %}{{ strategy.thresholds|join(", ") }}{% else %}
        quantiles {{ strategy.threshold_quantiles|join(", ") }} of |prediction|
        on the training rows{% endif %}</dd>
      <dt>z-score limits</dt>
      <dd>{% for z in strategy.z_limits %}{{ "none" if z is none else z }}
        {{- ", " if not loop.last }}{% endfor %}</dd>
      <dt>regime filters</dt>
      <dd>{% if strategy.regime_filters %}{% for f in strategy.regime_filters %}{{ f|regime }}
        {{- " · " if not loop.last }}{% endfor %}{% else %}
        defaults plus each model's training regime{% endif %}</dd>
      <dt>modes</dt><dd>{{ strategy.modes|join(", ") }}</dd>
      <dt>fills</dt>
      <dd>{{ strategy.fill }} · fee {{ strategy.fee_bps|number }} bps
        · slippage {{ strategy.slippage_bps|number }} bps</dd>
    </dl>
    <h3>Holdout criteria</h3>
    <dl>
      {% for name, limits in criteria.items() %}
      <dt>{{ name }}</dt><dd>{{ limits.describe() }}</dd>
      {% endfor %}
    </dl>
  </div>
  <div>
    <h3>Periods</h3>
    <table id="periods">
      <tr><th>period</th><th>first bar</th><th>last bar</th><th>bars</th></tr>
      {% for p in periods %}
      <tr data-period="{{ p.name }}">
        <td>{{ "training / validation" if p.name == "training" else p.name }}</td>
        <td>{{ p.first|when }}</td>
        <td>{% if p.bars is none and p.last is not none %}before {% endif %}{{ p.last|when }}</td>
        {{ cell(p.bars, "bars") }}</tr>
      {% endfor %}
    </table>
    {% if periods and periods[0].bars is none %}
    <p class="muted">Boundaries as recorded by a run from before periods were stored:
      nothing was simulated, so no bars were loaded.</p>
    {% endif %}
  </div>
</section>

<section id="best-strategy">
  <h2>Best strategy</h2>
  {% if best is none %}
  <p class="muted">No model of this run was simulated, so there is no strategy to show.</p>
  {% else %}
  <p>{{ best.chosen_because }}{% if best.candidate is false %} — no configuration met the
    criteria on the selection period, so its holdout result is for information only{% endif %}.
  </p>
  {% for message in best.mismatches %}<p class="note">{{ message }}</p>{% endfor %}
  <div class="grid">
    <dl id="best-config">
      <dt>model</dt><dd>{{ best.model.id }} (generation {{ best.model.generation }})</dd>
      <dt>ticker</dt><dd>{{ best.config.ticker }}</dd>
      <dt>threshold</dt>
      <dd data-value="{{ best.config.threshold|exact }}">{{ best.config.threshold|number }}</dd>
      <dt>z-score limit</dt>
      <dd>{{ "none" if best.config.z_limit is none else best.config.z_limit|number }}</dd>
      <dt>regime filter</dt><dd>{{ best.config.regime_filter|regime }}</dd>
      <dt>mode</dt><dd>{{ best.config.mode }}</dd>
      <dt>features</dt><dd>{{ best.model.features|join(", ") }}</dd>
    </dl>
    <table id="strategy-metrics">
      <tr><th>metric</th><th>selection</th><th>holdout</th></tr>
      {% for row in strategy_rows %}
      <tr data-metric="{{ row.metric }}"><td>{{ row.metric }}</td>
        {{ cell(row.selection, "selection") }}{{ cell(row.holdout, "holdout") }}</tr>
      {% endfor %}
    </table>
  </div>
  {{ chart("equity-chart", "") }}
  {{ chart("trades-chart", "") }}
  {% endif %}
</section>

<section id="holdout-verdict">
  <h2>Holdout criteria verdict</h2>
  {% if best is none or best.verdict is none %}
  <p class="muted">Nothing was judged on the holdout.</p>
  {% else %}
  <p>{% if best.verdict.passed %}Passed every criterion.{% else %}Missed
    {{ best.verdict.misses|length }} of {{ best.verdict.results|length }} criteria.{% endif %}
    DSR is deflated by the {{ run.configurations_tried|number }} configurations the run tried.</p>
  <table id="criteria">
    <tr><th>criterion</th><th>value</th><th>range</th><th>met</th><th>reason</th></tr>
    {% for r in best.verdict.results %}
    <tr data-criterion="{{ r.metric }}"><td>{{ r.metric }}</td>{{ cell(r.value, "value") }}
      <td>{{ r.range.describe() }}</td>
      <td class="{{ 'met' if r.met else 'missed' }}">{{ "yes" if r.met else "no" }}</td>
      <td>{{ r.reason }}</td></tr>
    {% endfor %}
  </table>
  {% endif %}
</section>

<section id="generations">
  <h2>Generations</h2>
  {% if not generations %}<p class="muted">No model was trained.</p>{% else %}
  <table id="generation-table">
    <tr><th rowspan="2">gen</th><th rowspan="2">model</th><th rowspan="2">features</th>
      <th rowspan="2">pruned</th><th colspan="4">selection (judged configuration)</th>
      <th colspan="4">holdout (judged configuration)</th><th rowspan="2">verdict</th></tr>
    <tr><th>configs</th><th>SQN-100</th><th>PF</th><th>trades</th>
      <th>SQN-100</th><th>PF</th><th>trades</th><th>DSR</th></tr>
    {% for g in generations %}
    <tr data-generation="{{ g.generation }}" data-model="{{ g.model_id }}"
      {%- if g.promoted %} class="promoted"{% endif %}>
      <td>{{ g.generation }}</td><td title="{{ g.model_id }}">{{ g.model_id[:12] }}</td>
      {{ cell(g.features, "features") }}<td>{{ g.pruned }}</td>
      {{ cell(g.simulations, "simulations") }}
      {{ cell(g.selection_sqn_100, "selection_sqn_100") }}
      {{ cell(g.selection_profit_factor, "selection_profit_factor") }}
      {{ cell(g.selection_trades, "selection_trades") }}
      {{ cell(g.holdout_sqn_100, "holdout_sqn_100") }}
      {{ cell(g.holdout_profit_factor, "holdout_profit_factor") }}
      {{ cell(g.holdout_trades, "holdout_trades") }}
      {{ cell(g.holdout_dsr, "holdout_dsr") }}
      <td>{{ g.verdict }}</td></tr>
    {% endfor %}
  </table>
  {% endif %}
</section>

<section id="lineage">
  <h2>Lineage and features</h2>
  {{ chart("lineage-chart", "No model was trained.") }}
  {{ chart("features-chart", "") }}
  {{ chart("survival-chart", "") }}
</section>

<section id="sqn-grid">
  <h2>Selection grid of the best model</h2>
  {{ chart("sqn-heatmap", "The best model has no selection results.") }}
</section>
</main>
<footer>Strategy Factory run report · generated {{ generated_at }} UTC ·
{% if plotly == "cdn" %}Plotly's JavaScript comes from its CDN: the charts need the network.
{% else %}self-contained: opens offline and loads nothing.{% endif %}</footer>
</body>
</html>
"""
)
