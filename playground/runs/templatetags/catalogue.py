"""``{% metrics_catalogue %}``: the metrics catalogue (runs/metrics.py) as the page's
``<script type="application/json" id="metrics-catalogue">``, for its scripts' labels and units."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from playground.runs import metrics

register = template.Library()


@register.simple_tag
def metrics_catalogue() -> SafeString:
    return json_script(metrics.catalogue_json(), "metrics-catalogue")
