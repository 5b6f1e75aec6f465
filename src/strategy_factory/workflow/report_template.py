"""The Jinja2 template of the workflow report: the run report's CSS, a few rules of its own.

As in the run report, numeric cells carry their full-precision value in ``data-value``
and a ``data-field`` name, and rows carry what they are about (``data-phase``,
``data-classifier``, ``data-regime``, ``data-family``, ``data-trial``), so what the page
shows can be checked against the workspace's files.
"""

from strategy_factory.evolution.report_template import STYLE

WORKFLOW_STYLE = """
.badge.done { background: #d4edda; }
tr.fallback td { background: #fff8e1; }
.flag { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px;
        font-weight: 600; background: #fdebd0; color: #7e5109; }
td.best { font-weight: 600; }
ul.warnings { margin: 4px 0; padding-left: 20px; }
ul.warnings li.warning { color: #7e5109; } ul.warnings li.error { color: var(--bad); }
h3 .muted { font-weight: normal; }
"""

TEMPLATE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workflow {{ manifest.id }} · {{ manifest.name }} · Strategy Factory report</title>
<style>"""
    + STYLE
    + WORKFLOW_STYLE
    + """</style>
</head>
<body>
{% macro cell(value, field="", rows=1) -%}
<td class="num"{% if field %} data-field="{{ field }}"{% endif %}
{%- if rows > 1 %} rowspan="{{ rows }}"{% endif %}
 data-value="{{ value|exact }}">{{ value|number }}</td>
{%- endmacro %}
{% macro chart(div_id) -%}
{% if div_id in charts %}<div class="chart" data-chart="{{ div_id }}">{{ charts[div_id] }}</div>
{% endif %}
{%- endmacro %}
{% macro heading(phase) -%}
<h3 data-phase="{{ phase.name }}">{{ phase.name }}
  <span class="badge {{ phase.state }}">{{ phase.state }}</span></h3>
{% if not phase.shown %}<p class="muted not-shown">{{ state_note(phase) }}</p>
{% if phase.entry.error %}<pre class="error">{{ phase.entry.error }}</pre>{% endif %}{% endif %}
{%- endmacro %}
{% macro absent(kind) -%}
<p class="muted not-shown">This workflow has no {{ kind }} phase.</p>
{%- endmacro %}
<header>
  <h1>Workflow <span id="workflow-id">{{ manifest.id }}</span> ·
    <span id="workflow-name">{{ manifest.name }}</span>
    <span class="badge {{ manifest.state }}" id="workflow-state">{{ manifest.state }}</span></h1>
  <div class="muted">{{ config.data.symbol }} · created {{ manifest.created_at|when }}
    · last saved {{ manifest.updated_at|when }}</div>
</header>
<main>
<section id="verdict">
  {% if latest is none %}
  <div class="verdict">{{ absent("validation") }}</div>
  {% elif not latest.shown %}
  <div class="verdict {{ 'failed' if latest.state == 'failed' }}"><strong>Verdict:</strong>
    none yet (phase {{ latest.name }}: {{ state_note(latest) }})</div>
  {% else %}
  {% set result = latest.validation %}
  <div class="verdict {{ 'promoted' if result.passed else 'failed' }}">
    <strong>Verdict ({{ latest.name }}):</strong>
    <span id="verdict-text">{{ "passed" if result.passed else "not passed" }}</span>
    on the holdout, after {{ result.trials.total|number }} trials
    ({{ result.holdout_looks }} holdout look{{ "s" if result.holdout_looks > 1 }}).
    {% if result.misses %}<ul id="verdict-misses">{% for m in result.misses %}
      <li>{{ m }}</li>{% endfor %}</ul>{% endif %}
  </div>
  {% endif %}
</section>

<section id="overview" class="grid">
  <div>
    <h3>Workflow</h3>
    <dl>
      <dt>symbol</dt><dd>{{ config.data.symbol }}</dd>
      <dt>classifiers</dt>
      <dd>{% for name, c in config.classifiers.items() %}{{ name }} ({{ c.type }})
        {{- ", " if not loop.last }}{% endfor %}</dd>
      <dt>costs</dt>
      <dd>fee {{ config.costs.fee_bps|number }} bps · slippage
        {{ config.costs.slippage_bps|number }} bps · {{ config.costs.fill }}</dd>
      <dt>phases</dt><dd>{{ phases|length }}</dd>
      <dt>workspace</dt><dd>{{ manifest.paths.root if manifest.paths else "—" }}</dd>
    </dl>
  </div>
  <div>
    <h3>Periods</h3>
    <table id="periods">
      <tr><th>period</th><th>first bar</th><th>last bar</th><th>bars</th></tr>
      {% for name, p in periods.items() %}
      <tr data-period="{{ name }}"><td>{{ name }}</td><td>{{ p.first|when }}</td>
        <td>{{ p.last|when }}</td>{{ cell(p.bars, "bars") }}</tr>
      {% endfor %}
    </table>
  </div>
</section>

<section id="phases">
  <h2>Phases</h2>
  {{ chart("timeline-chart") }}
  <table id="phase-table">
    <tr><th>phase</th><th>type</th><th>state</th><th>started</th><th>finished</th>
      <th>progress</th><th>summary</th></tr>
    {% for phase in phases %}
    {% set e = phase.entry %}{% set summary = e.summary or {} %}
    <tr data-phase="{{ phase.name }}" data-state="{{ phase.state }}">
      <td>{{ phase.name }}</td><td>{{ phase.type }}</td>
      <td><span class="badge {{ phase.state }}">{{ phase.state }}</span></td>
      {# a pending phase's times are those of a run undone by resume --from #}
      {% if phase.state == "pending" %}<td>—</td><td>—</td>{% else %}
      <td>{{ e.started_at|when }}</td><td>{{ e.finished_at|when }}</td>{% endif %}
      <td>{% if e.progress %}{{ e.progress.done|number }} / {{ e.progress.total|number }}
        {% else %}—{% endif %}</td>
      <td>{% if phase.state == "pending" %}not run yet{% endif %}
        {% for k, v in summary.items() if k not in ("warning", "misses") %}{{ k }}
        {{ v|number if v is number else v }}{{ ", " if not loop.last }}{% endfor %}
        {% set warning, misses = summary.get("warning"), summary.get("misses") or [] %}
        {% if warning or misses or e.error %}<ul class="warnings">
        {% if warning %}<li class="warning">warning: {{ warning }}</li>{% endif %}
        {% for m in misses %}<li class="warning">missed: {{ m }}</li>{% endfor %}
        {% if e.error %}<li class="error">error: <pre class="error phase-error">
          {{- e.error }}</pre></li>{% endif %}
        </ul>{% endif %}</td></tr>
    {% endfor %}
  </table>
  <h3>Files edited between phases</h3>
  {% if not edits %}<p class="muted" id="no-edits">None: every phase read what the one
    before it wrote.</p>{% else %}
  <table id="edits">
    <tr><th>file</th><th>used by</th><th>noticed</th><th>written (SHA-256)</th>
      <th>found (SHA-256)</th></tr>
    {% for edit in edits %}
    <tr data-path="{{ edit.path }}" data-used-by="{{ edit.used_by }}"><td>{{ edit.path }}</td>
      <td>{{ edit.used_by }}</td><td>{{ edit.noticed_at|when }}</td>
      <td title="{{ edit.written }}">{{ edit.written[:12] }}</td>
      <td title="{{ edit.found }}">{{ edit.found[:12] }}</td></tr>
    {% endfor %}
  </table>
  <p class="muted">The phase that read an edited file used it as edited.</p>
  {% endif %}
</section>

<section id="regime-params">
  <h2>Best parameters per regime</h2>
  {% if not analyses %}{{ absent("regime_analysis") }}{% endif %}
  {% for phase in analyses %}
  {{ heading(phase) }}
  {% if phase.shown %}{% set a = phase.analysis %}
  <p class="muted">Each family's best trial by {{ a.metric }} on the selection period of
    discovery {{ a.discovery }}, trading only in that regime. A regime with too few bars or
    trades falls back to the family's overall best (marked).</p>
  <table class="regime-table" data-phase="{{ phase.name }}">
    <tr><th>classifier</th><th>regime</th><th>best family</th><th>family</th><th>trial</th>
      <th>parameters</th><th>{{ a.metric }}</th><th>trades</th><th>bars</th><th>choice</th></tr>
    {% for g in regime_groups(phase.analysis) %}{% for c in g.choices %}
    <tr data-classifier="{{ g.classifier }}" data-regime="{{ g.label }}"
      data-family="{{ c.family }}" data-trial="{{ c.trial }}"
      {%- if c.fallback %} class="fallback"{% endif %}>
      {% if loop.first %}<td rowspan="{{ g.choices|length }}">{{ g.classifier or "—" }}</td>
      <td rowspan="{{ g.choices|length }}">{{ g.regime }}</td>
      <td rowspan="{{ g.choices|length }}" data-field="best_family">
        {{- g.best_family or "—" }}</td>{% endif %}
      <td{% if c.family == g.best_family %} class="best"{% endif %}>{{ c.family }}</td>
      {{ cell(c.trial, "trial") }}<td data-field="params">{{ c.params }}</td>
      {{ cell(c.value, "value") }}{{ cell(c.trades, "trades") }}{{ cell(c.bars, "bars") }}
      <td>{% if c.fallback %}<span class="flag">fallback</span>
        <span data-field="reason">{{ c.reason }}</span>{% else %}own best
        {% if c.note %}({{ c.note }}){% endif %}{% endif %}</td></tr>
    {% endfor %}{% endfor %}
  </table>
  {% endif %}
  {% endfor %}
</section>

<section id="ensemble-weights">
  <h2>Ensemble weights per regime</h2>
  {% if not ensembles %}{{ absent("ensemble_optimization") }}{% endif %}
  {% for phase in ensembles %}
  {{ heading(phase) }}
  {% if phase.shown %}
  <p class="muted">Classifier {{ phase.weights.classifier }}, objective
    {{ phase.weights.objective }}, searched by replaying the captured signals.</p>
  {{ chart("weights-chart-" ~ phase.position) }}
  <table class="weights-table" data-phase="{{ phase.name }}">
    <tr><th>blend</th><th>member</th><th>parameters</th><th>weight</th>
      <th>objective</th><th>weight sets tried</th><th>note</th></tr>
    {% for b in blend_rows(phase.weights) %}{% for m in b.members %}
    <tr data-regime="{{ b.label }}" data-family="{{ m.family }}" data-trial="{{ m.trial }}"
      {%- if b.fallback %} class="fallback"{% endif %}>
      {% if loop.first %}<td rowspan="{{ b.members|length }}">{{ b.regime }}</td>{% endif %}
      <td>{{ m.label }}</td><td>{{ m.params }}</td>{{ cell(m.weight, "weight") }}
      {% if loop.first %}{{ cell(b.objective_value, "objective_value", b.members|length) }}
      {{ cell(b.weight_sets_tried, "weight_sets_tried", b.members|length) }}
      <td rowspan="{{ b.members|length }}">{% if b.fallback %}<span class="flag">fallback</span>
        {% endif %}{{ b.note or "" }}</td>{% endif %}</tr>
    {% endfor %}{% endfor %}
  </table>
  {% endif %}
  {% endfor %}
</section>

<section id="validation">
  <h2>Validation on the holdout</h2>
  {% if not validations %}{{ absent("validation") }}{% endif %}
  {% for phase in validations %}
  {{ heading(phase) }}
  {% if phase.shown %}{% set r = phase.validation %}
  <p class="validation-verdict" data-passed="{{ r.passed|lower }}">
    <strong>{{ "Passed" if r.passed else "Not passed" }}</strong> ·
    {{ r.period.first|when }} → {{ r.period.last|when }} ({{ r.period.bars|number }} bars)
    · classifier {{ r.classifier }} ·
    <span data-field="switch_count" data-value="{{ r.switch_count }}">
      {{- r.switch_count|number }} regime switch{{ "es" if r.switch_count != 1 }}</span>
    {% if r.misses %}· missed: {{ r.misses|join("; ") }}{% endif %}</p>
  {{ chart("equity-chart-" ~ phase.position) }}
  <div class="grid">
    <table class="metrics-table" data-phase="{{ phase.name }}">
      <tr><th>metric</th><th>value</th><th>criterion</th><th>met</th></tr>
      {% for m in metric_rows(r) %}
      <tr data-metric="{{ m.metric }}"><td>{{ m.metric }}</td>{{ cell(m.value, "value") }}
        <td>{{ m.range }}</td><td title="{{ m.reason }}"
        {%- if m.met is not none %} class="{{ 'met' if m.met else 'missed' }}"{% endif %}>
        {{- "" if m.met is none else ("yes" if m.met else "no") }}</td></tr>
      {% endfor %}
    </table>
    <div>
      <h3>Trials charged</h3>
      <dl class="trials" data-phase="{{ phase.name }}">
        {% for name, count in r.trials.items() %}
        <dt>{{ name.replace("_", " ") }}</dt>
        <dd data-field="{{ name }}" data-value="{{ count }}">{{ count|number }}</dd>
        {% endfor %}
        <dt>holdout looks</dt><dd>{{ r.holdout_looks }}</dd>
      </dl>
      <h3>Probability of backtest overfitting</h3>
      <dl class="pbo" data-phase="{{ phase.name }}">
        <dt>judged (bar-weighted over regimes)</dt>
        <dd data-field="pbo" data-value="{{ r.metrics.pbo|exact }}">{{ r.metrics.pbo|number }}</dd>
        <dt>best single trial</dt>
        <dd data-value="{{ r.overfitting.pbo_single_trial|exact }}">
          {{- r.overfitting.pbo_single_trial|number }}</dd>
        {% for label, value in (r.overfitting.pbo_by_regime or {}).items() %}
        <dt>regime {{ report.regime_name(r.classifier, label) }}</dt>
        <dd data-value="{{ value|exact }}">{{ value|number }}</dd>
        {% endfor %}
      </dl>
      <h3>Bars per blend</h3>
      <dl>{% for blend, bars in r.time_in_blend.items() %}
        <dt>{{ report.regime_name(r.classifier, blend) }}</dt><dd>{{ bars|number }}</dd>
      {% endfor %}</dl>
    </div>
  </div>
  <h3>Each member alone on the holdout</h3>
  <table class="members-table" data-phase="{{ phase.name }}">
    <tr><th>member</th><th>parameters</th>
      {% for name in member_metrics %}<th>{{ name }}</th>{% endfor %}</tr>
    <tr class="promoted" data-family="adaptive"><td>adaptive strategy</td><td>—</td>
      {% for name in member_metrics %}{{ cell(r.metrics.get(name), name) }}{% endfor %}</tr>
    {% for m in r.members %}
    <tr data-family="{{ m.family }}" data-trial="{{ m.trial }}">
      <td>{{ m.family }} #{{ m.trial }}</td><td>{{ params_text(m.params) }}</td>
      {% for name in member_metrics %}{{ cell(m[name], name) }}{% endfor %}</tr>
    {% endfor %}
  </table>
  {% endif %}
  {% endfor %}
</section>
</main>
<footer>Strategy Factory workflow report · generated {{ generated_at }} UTC ·
{% if plotly == "cdn" %}Plotly's JavaScript comes from its CDN: the charts need the network.
{% else %}self-contained: opens offline and loads nothing.{% endif %}</footer>
</body>
</html>
"""
)
