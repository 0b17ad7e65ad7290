"""Build a large, realistic APK for the benchmarks with the real tools (smali, gcc, aapt, zipalign, apksigner).

Shape (close to the reference package of docs/benchmarks.md): 8 DEX files with ~500k strings in total (URLs and hostnames drawn
from 1,500 distinct hosts, class names, format strings, plain words), two native libraries with URL strings in .rodata, text assets (HTML, JS, JSON), and
incompressible media so the package is ~40 MB on disk. Signed v1+v2+v3 with a fresh RSA-2048 key.

    python bench/make_large_apk.py [--out bench/work/large.apk] [--dex 8] [--strings-per-dex 62000] [--media-mb 27]

The default makes a 39.0 MB package (63 MB inflated; the reference package is 39 MB); ``--media-mb 16`` the
28.5 MB one measured until 2026-11-30, ``--media-mb 86`` a ~100 MB package (bench/http_upload.py uses it).

The output is cached: an existing file is reused unless --force.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from fixtures import toolchain  # noqa: E402

WORDS = ("alpha beta gamma delta config user token session image video upload download report event "
         "payment order cart share login logout profile message notify push feed comment like follow").split()
TLDS = ("com", "cn", "com.cn", "net", "org", "io", "gov.cn", "net.cn")


def host_pool(rng: random.Random, size: int = 1500) -> list[str]:
    """A realistic number of distinct hosts: big apps contact hundreds to a few thousand, not one per string."""
    return [f"{rng.choice(WORDS)}{i % 97}.{rng.choice(WORDS)}-svc.{rng.choice(TLDS)}" for i in range(size)]


def strings_for(rng: random.Random, n: int, dex_index: int, hosts: list[str]) -> list[str]:
    out = []
    for i in range(n):
        kind = i % 10
        w1, w2 = rng.choice(WORDS), rng.choice(WORDS)
        if kind == 0:
            out.append(f"https://{rng.choice(hosts)}/api/v{i % 5}/{w1}/{i}")
        elif kind == 1:
            out.append(rng.choice(hosts))
        elif kind in (2, 3):
            out.append(f"Lcom/example/d{dex_index}/{w1}/{w2.capitalize()}{i};")
        elif kind == 4:
            out.append(f"com.example.{w1}.{w2.capitalize()}Activity{i}")
        elif kind == 5:
            out.append(f"%s/{w1}_{i}.png")
        else:
            # Identifiers and messages are far less repetitive than a word list: mix in random tokens.
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) + f" {rng.getrandbits(48):x}_{i}")
    return out


def smali_class(index: int, chunk: int, strings: list[str]) -> str:
    """Code that uses each string the way apps do (passed to a call, a field, arithmetic around it), so the DEX
    has a realistic share of code next to its string data."""
    lines = [f".class public Lbench/d{index}/C{chunk};", ".super Ljava/lang/Object;", "",
             ".field public static f:Ljava/lang/String;", "",
             ".method public static u(Ljava/lang/String;I)I", "    .registers 3",
             "    invoke-virtual {p0}, Ljava/lang/String;->length()I", "    move-result v0",
             "    add-int v0, v0, p1", "    return v0", ".end method", ""]
    for m in range(0, len(strings), 500):
        lines += [f".method public static s{m}(I)I", "    .registers 4"]
        for k, s in enumerate(strings[m:m + 500]):
            escaped = s.replace("\\", "\\\\").replace('"', '\\"')
            lines += [f'    const-string v0, "{escaped}"',
                      f"    invoke-static {{v0, p0}}, Lbench/d{index}/C{chunk};->u(Ljava/lang/String;I)I",
                      "    move-result p0", f"    add-int/lit16 p0, p0, {k % 32000}",
                      f"    sput-object v0, Lbench/d{index}/C{chunk};->f:Ljava/lang/String;"]
        lines += ["    return p0", ".end method", ""]
    return "\n".join(lines)


def build(out: pathlib.Path, dex_count: int, per_dex: int, media_mb: int = 27) -> None:
    rng = random.Random(20261129)
    work = out.parent / "large_build"
    shutil.rmtree(work, ignore_errors=True)
    (work / "res/values").mkdir(parents=True)
    (work / "res/raw").mkdir(parents=True)
    (work / "assets/www").mkdir(parents=True)
    (work / "AndroidManifest.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="cn.filinggate.bench"\n'
        '    android:versionCode="1234" android:versionName="12.3.4">\n'
        '  <uses-sdk android:minSdkVersion="21" android:targetSdkVersion="34"/>\n'
        '  <uses-permission android:name="android.permission.INTERNET"/>\n'
        '  <application android:label="@string/app_name"/>\n</manifest>\n')
    (work / "res/values/strings.xml").write_text(
        '<resources><string name="app_name">Bench</string>'
        '<string name="endpoint">https://cfg.bench-gate.cn/v2</string></resources>')
    hosts = host_pool(rng)
    for i in range(dex_count):
        src = work / f"smali{i}"
        src.mkdir()
        strings = strings_for(rng, per_dex, i, hosts)
        for chunk in range(0, len(strings), 4000):
            (src / f"C{chunk}.smali").write_text(smali_class(i, chunk, strings[chunk:chunk + 4000]))
        name = "classes.dex" if i == 0 else f"classes{i + 1}.dex"
        print(f"assembling {name} ({per_dex} strings)", flush=True)
        toolchain.assemble_dex(src, work / name)
    # Native libraries: a large read-only data section with URLs among filler.
    lib_dir = work / "lib/arm64-v8a"
    lib_dir.mkdir(parents=True)
    for lib in ("libcore", "libnet"):
        c_src = work / f"{lib}.c"
        body = ",\n".join(f'"https://{rng.choice(WORDS)}.native-{lib}.cn/x{i}"' for i in range(20000))
        c_src.write_text(f"const char *const urls[] = {{\n{body}\n}};\nint f(int i) {{ return urls[i][0]; }}\n")
        toolchain.run("gcc", "-shared", "-fPIC", "-O1", "-o", lib_dir / f"{lib}.so", c_src)
    (work / "assets/www/index.html").write_text(
        "<html><body>" + "".join(f'<a href="https://m{i}.bench-web.com/p">x</a>\n' for i in range(5000)) + "</body></html>")
    (work / "assets/config.json").write_text(
        "{" + ",".join(f'"k{i}": "https://cfg{i}.bench-gate.cn/{i}"' for i in range(3000)) + "}")
    # Incompressible media (stored by aapt for .png/.mp3 extensions).
    for i in range(max(1, media_mb // 2)):
        (work / f"assets/media{i}.mp3").write_bytes(os.urandom(2 << 20))
    for i in range(4):
        (work / f"res/raw/blob{i}.png").write_bytes(os.urandom(1 << 20))
    unsigned = work / "unsigned.apk"
    toolchain.aapt_package(work / "AndroidManifest.xml", unsigned, res=work / "res", assets=work / "assets")
    dex_names = ["classes.dex"] + [f"classes{i + 1}.dex" for i in range(1, dex_count)]
    toolchain.aapt_add(unsigned, work, *dex_names, "lib/arm64-v8a/libcore.so", "lib/arm64-v8a/libnet.so")
    aligned = toolchain.zipalign(unsigned, work / "aligned.apk")
    key = toolchain.keystore(work / "bench.p12")
    toolchain.sign(aligned, out, key)
    shutil.rmtree(work, ignore_errors=True)
    out.with_suffix(".apk.idsig").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("bench/work/large.apk"))
    parser.add_argument("--dex", type=int, default=8)
    parser.add_argument("--strings-per-dex", type=int, default=62000)
    parser.add_argument("--media-mb", type=int, default=27, help="incompressible assets in MB (2 MB files)")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    if args.out.exists() and not args.force:
        print(f"{args.out} exists ({args.out.stat().st_size / 1e6:.1f} MB); use --force to rebuild")
        return
    toolchain.require_tools()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    build(args.out, args.dex, args.strings_per_dex, args.media_mb)
    print(f"built {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
