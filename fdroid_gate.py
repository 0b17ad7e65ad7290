"""``fdroid gate``: the filing gate as a plugin of F-Droid's server tools (the code is gate.integrations.fdroid).

fdroidserver lists top-level modules named ``fdroid_<command>`` and reads ``fdroid_summary`` and ``main`` from this
file's text before importing it, so both stay literal here. Installed from the wheel, this module sits in
site-packages; from a source checkout, put the checkout on PYTHONPATH (docs/fdroid.md).
"""

fdroid_summary = "check APKs against APP备案 filings (filing gate); stop unfiled apps, show filing numbers"


def main():
    from gate.integrations.fdroid import main as run

    run()
