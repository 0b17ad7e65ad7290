"""Preinstall scans of system images (终端预置应用核验): from the files a build produces to a report.

``sources`` opens what the release engineer has — an unpacked tree, Android sparse images, ext4 or EROFS
file-system images, a dynamic-partition ``super.img`` — and finds every app the device would install, with the path
the device sees. ``scan`` checks them on every core; ``report`` turns the decisions into JSON, CSV and HTML with
per-partition counts, exemptions and the difference from the previous report.
"""
