"""An HTML template for `dvc plots show` that works offline: Vega, Vega-Lite and Vega-Embed inlined.

DVC's default page loads those libraries from a CDN, so without internet (the README's "No internet?"
path) every plot is a blank box. vl-convert-python ships the libraries; this bundles them into the page,
and `.dvc/config` points `plots.html_template` at the result.
"""

from __future__ import annotations

from pathlib import Path

import vl_convert

from ptbxl_multimodal.io.atomic import write_text

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC plots (offline: Vega {vega}, Vega-Embed {embed}, bundled by vl-convert-python)</title>
    <script type="text/javascript">
__BUNDLE__
    </script>
    <style>
        body {{ font-family: sans-serif; }}
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def write_offline_template(path: Path) -> None:
    """Write the template: DVC fills {plot_divs} with divs whose scripts call the global `vegaEmbed`."""
    bundle = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    page = PAGE.format(
        vega=vl_convert.get_vega_version(),
        embed=vl_convert.get_vega_embed_version(),
        refresh_tag="{refresh_tag}",
        plot_divs="{plot_divs}",
    )
    write_text(path, page.replace("__BUNDLE__", bundle))
