-- Hub-scale scanning (src/hub/): what brine has judged, by content, and which files of which
-- repository revision hold that content. See README "Hub scanning" for the flow.

-- One row per distinct content (SHA-256 of the file's bytes): scanned once, whatever repositories share it.
CREATE TABLE contents (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  -- pending (a scan is queued), done (judged), unscannable (kept failing or could not be read)
  status TEXT NOT NULL,
  -- which queue message owns the pending scan, and since when (a stale claim may be taken over)
  claimed_by TEXT,
  claimed_at INTEGER,
  -- engine + container reader versions of the stored FileScan: when they change, the file is read again
  read_stamp TEXT,
  -- rules version of the stored verdict: when only this changes, the stored FileScan is judged again
  rules_version TEXT,
  verdict TEXT,
  fails INTEGER,
  -- compact report (default policy): reasons, findings, problems
  report TEXT,
  -- the rules-independent FileScan, gzip-compressed JSON (NULL when it was too large to keep)
  filescan BLOB,
  -- why the content is unscannable; failure = 'fetch' marks a transport failure worth retrying later
  reason TEXT,
  failure TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  bytes_fetched INTEGER,
  scanned_at INTEGER
);
CREATE INDEX contents_rules ON contents (rules_version);

-- A requested revision (branch, tag or commit) of a repository, resolved to the commit listed.
CREATE TABLE revisions (
  repo TEXT NOT NULL,
  revision TEXT NOT NULL,
  commit_sha TEXT,
  -- queued (not listed yet), listed, failed (listing kept failing; error says why)
  status TEXT NOT NULL,
  error TEXT,
  requested_at INTEGER NOT NULL,
  listed_at INTEGER,
  PRIMARY KEY (repo, revision)
);

-- file -> content, per repository commit.
CREATE TABLE repo_files (
  repo TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  -- NULL until known: LFS files carry it in the listing; small git files are hashed when read
  sha256 TEXT,
  lfs INTEGER NOT NULL,
  -- linked (verdict comes from contents), queued (not hashed yet), unscannable (reason)
  status TEXT NOT NULL,
  reason TEXT,
  PRIMARY KEY (repo, commit_sha, path)
);
CREATE INDEX repo_files_content ON repo_files (sha256);
