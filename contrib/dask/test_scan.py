"""Unit tests of the driver's argument handling: python3 -m unittest discover -s contrib/dask"""

import unittest

import scan


class SplitFlags(unittest.TestCase):
    def test_report_flags_go_to_the_final_merge(self):
        flags = ["--since", "2h", "--output", "json", "--top", "-o", "r.json", "--fail-on=p99>2s", "--wide", "--allow-overlap"]
        self.assertEqual(
            scan.split_flags(flags),
            (["--since", "2h", "--top"], ["--output", "json", "-o", "r.json", "--fail-on=p99>2s", "--wide"], ["--allow-overlap"]),
        )

    def test_joined_values_and_quiet(self):
        self.assertEqual(scan.split_flags(["-oreport.csv", "--output=csv", "-q"]), ([], ["-oreport.csv", "--output=csv"], []))

    def test_a_missing_value_and_follow_are_refused(self):
        with self.assertRaises(SystemExit):
            scan.split_flags(["--fail-on"])
        with self.assertRaises(SystemExit):
            scan.split_flags(["--follow"])


class Shards(unittest.TestCase):
    def test_host_path_pairs_run_over_ssh_quoted(self):
        command = scan.shard_command("cts-logscan", "ssh -p 2222", "/opt/cts-logscan", "web1:/var/log/a b.log", ["--since", "2h"])
        self.assertEqual(command[:5], ["ssh", "-p", "2222", "-o", "BatchMode=yes"])
        self.assertEqual(command[5], "web1")
        self.assertEqual(command[6], "/opt/cts-logscan --output state -q --since 2h -- '/var/log/a b.log'")

    def test_urls_and_local_paths_are_not_hosts(self):
        for shard in ["s3://logs/nginx/", "obs://b/CloudTraces/", "logs/a.log", "/var/log/x:y/a.log"]:
            self.assertFalse(scan.is_remote(shard), shard)
        self.assertTrue(scan.is_remote("ops@web1:logs/a.log"))

    def test_a_glob_without_matches_is_an_error(self):
        with self.assertRaises(FileNotFoundError):
            scan.shard_command("cts-logscan", "ssh", "cts-logscan", "/nonexistent/*.log", [])


class MergeMessages(unittest.TestCase):
    def test_temporary_states_are_named_by_their_shards(self):
        written = {"/tmp/m/000.state": scan.Part(["web1.log", "web2.log"], b"{}"), "/tmp/m/001.state": scan.Part(["copy.log"], b"{}")}
        message = "cts-logscan: /tmp/m/001.state: input x is also in /tmp/m/000.state; merging would count it twice (pass --allow-overlap if that is what you want)"
        self.assertEqual(
            scan.name_shards(message, written),
            "cts-logscan: shard copy.log: input x is also in shards web1.log, web2.log; merging would count it twice (pass --allow-overlap after -- if that is what you want)",
        )

    def test_many_shards_are_named_by_the_first_and_the_last(self):
        part = scan.Part([f"web{i}.log" for i in range(1, 41)], b"{}")
        self.assertEqual(part.label, "shards web1.log, web2.log, …, web40.log (40 shards)")
        self.assertEqual(scan.Part(["a", "b", "c"], None).label, "shards a, b, c")


if __name__ == "__main__":
    unittest.main()
