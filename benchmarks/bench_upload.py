"""`--upload` of a 100 MB data folder to a real S3-compatible server on localhost (moto's
server mode), side by side with the same files put by s3fs directly: the upload should run
at the server's speed (goal: a ratio near 1).

    python benchmarks/bench_upload.py [--megabytes 100] [--repeat 3]

The data folder is a converted pipeline's notebook folder with a notebook that reads ten CSV
files of 10 MB each; nb2pipe uploads what the pipeline reads (`nb2pipe.run.datadir`), s3fs
puts the same files in one call. Alternated runs, medians. Results:
benchmarks/results/upload.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    import s3fs

    from nb2pipe.run.datadir import data_files, upload
    from nb2pipe.run.source import load_source
    from tests.helpers import run_cli, write_notebook

    filesystem = s3fs.S3FileSystem()
    filesystem.mkdir("bench")
    work = Path(tempfile.mkdtemp(prefix="nb2pipe-upload-"))
    files = 10
    line = ("0.123456789," * 9 + "0.5\n").encode()
    per_file = args.megabytes * 1_000_000 // files
    for number in range(files):
        (work / f"part{number}.csv").write_bytes(b"a,b,c,d,e,f,g,h,i,j\n" +
                                                  line * (per_file // len(line)))
    reads = "".join(f"frame_{n} = pd.read_csv('part{n}.csv')\n" for n in range(files))
    write_notebook(work / "nb.ipynb", '# %% tags=["step:load"]\nimport pandas as pd\n' + reads +
                   '# %% tags=["step:use"]\nrows = len(frame_0)\n')
    code, _, err = run_cli("convert", work / "nb.ipynb", "-o", work / "pipeline")
    assert code == 0, err
    source = load_source(str(work / "pipeline"))
    found = data_files(source.pipeline, source.work_dir, {})
    size = sum(f.size for f in found)
    ours, theirs = [], []
    for attempt in range(args.repeat):
        started = time.perf_counter()
        upload(found, f"s3://bench/ours-{attempt}")
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        filesystem.put([f.local for f in found],
                       [f"bench/direct-{attempt}/{f.key}" for f in found])
        theirs.append(time.perf_counter() - started)
    server.stop()
    result = {"files": len(found), "megabytes": round(size / 1e6, 1),
              "nb2pipe_upload_s": statistics.median(ours),
              "s3fs_put_s": statistics.median(theirs)}
    result["ratio"] = result["nb2pipe_upload_s"] / result["s3fs_put_s"]
    result["nb2pipe_mb_per_s"] = size / 1e6 / result["nb2pipe_upload_s"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "upload.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"upload of {result['files']} files, {result['megabytes']} MB, to moto's S3 server: "
          f"nb2pipe {result['nb2pipe_upload_s']:.2f} s ({result['nb2pipe_mb_per_s']:.0f} MB/s), "
          f"s3fs put {result['s3fs_put_s']:.2f} s → {result['ratio']:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
