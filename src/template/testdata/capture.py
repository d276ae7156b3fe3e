#!/usr/bin/env python3
"""Record the docker CLI's answers to --format templates, for src/template/docker_tests.rs.

How the expected outputs were obtained (once, by hand; rerun to refresh):
  dockerd --data-root /tmp/gt/data --exec-root /tmp/gt/exec -H unix:///tmp/gt/docker.sock \
          --pidfile /tmp/gt/dockerd.pid --iptables=false &
  export DOCKER_HOST=unix:///tmp/gt/docker.sock DOCKER_CONFIG=/tmp/gt/config
  ../shared/fixtures/make-test-images.sh /tmp/gt/images && docker load -i /tmp/gt/images/{busybox,hello,layered}.tar
  docker volume create --label env=test --label tier=db data1; docker volume create plain
  docker run -d --name web --label com.example.app=web --label tier=front -v data1:/data -e FOO=bar testimg/busybox sleep 1000
  docker create --name idle --label a=1 testimg/busybox echo hi
  docker run --name done testimg/hello
  python3 src/template/testdata/capture.py     # docker CLI 28.2.2
It writes the objects the templates ran over (testdata/*.json) and the cases with docker's
stdout, stderr and exit code (testdata/docker_cases.json).
"""
import json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))

def docker(*args):
    p = subprocess.run(["docker", *args], capture_output=True, text=True, errors="replace")
    return {"stdout": p.stdout, "stderr": p.stderr.strip(), "rc": p.returncode}

def js(*args):
    return json.loads(docker(*args)["stdout"])

def lines(*args):
    return [json.loads(l) for l in docker(*args)["stdout"].splitlines()]

data = {
    "container": js("inspect", "web")[0],
    "image": js("image", "inspect", "testimg/busybox")[0],
    "volume": js("volume", "inspect", "data1")[0],
    "ps": [{"fields": f, "labels": js("inspect", "-f", "{{json .Config.Labels}}", f["ID"])}
           for f in lines("ps", "-a", "--format", "{{json .}}")],
    "images": lines("images", "--format", "{{json .}}"),
    "volumes": [{"fields": f, "labels": js("volume", "inspect", "-f", "{{json .Labels}}", f["Name"])}
                for f in lines("volume", "ls", "--format", "{{json .}}")],
}

INSPECT = {
    "container": [
        '{{.Name}}',
        '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}',
        '{{json .State}}',
        '{{json .Config.Labels}}',
        '{{json .Config.Cmd}} {{json .Name}} {{json .State.Running}} {{json .Config.Entrypoint}}',
        '{{index .Config.Labels "tier"}}',
        '{{range .Mounts}}{{.Source}} -> {{.Destination}} ({{.Type}}, rw={{.RW}}){{end}}',
        '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}',
        '{{with .State}}{{.Status}}{{end}}',
        '{{with .Config.Entrypoint}}has{{else}}none{{end}}',
        '{{if eq .State.Status "running"}}up{{else}}down{{end}}',
        '{{if eq .State.Status "exited" "running"}}known{{end}}',
        '{{printf "%-10s|%8d|%x|%q" .Name .State.Pid 255 .Config.Image}}',
        '{{printf "%5.2f %e %g %v %t %s %d%%" 3.14159 1234.5678 0.000012 .Config.Cmd true .Config.Tty 7}}',
        '{{printf "%v %v" .Config.Labels .HostConfig.RestartPolicy.Name}}',
        '{{.Name | upper}} {{lower "MiXeD"}} {{title "hello wide world"}}',
        'a  {{- .Name -}}  b {{- "c" }} d',
        '{{.Config.Labels.nope}}|{{index .Config.Labels "nope"}}|',
        '{{join .Config.Env ","}}',
        '{{split .Name "e"}} {{len (split .Id "")}}',
        '{{range split "a,b,c" ","}}[{{.}}]{{end}}',
        '{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}',
        '{{index .Config.Env 0}} {{index .Mounts 0 | json}}',
        '{{slice .Id 0 12}} {{slice .Config.Env 1}}',
        '{{.Config.Cmd}} {{.Config.Labels}} {{.Config.Tty}} {{.HostConfig.Memory}}',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}}/{{.IPPrefixLen}}{{end}}',
        '{{range $name, $net := .NetworkSettings.Networks}}{{$name}} gw={{$net.Gateway}}{{end}}',
        '{{if and .State.Running (not .State.Paused)}}ok{{end}} {{and 1 0 2}} {{or 0 "" "x"}}',
        '{{or .Config.Domainname "none"}}',
        '{{truncate .Id 12}}|{{pad .Name 1 2}}|{{pad "" 3 3}}|',
        '{{$n := .Name}}{{$n}} {{$n = "x"}}{{$n}}',
        '{{range .Config.Env}}{{if eq . "FOO=bar"}}{{continue}}{{end}}{{.}}{{end}}',
        '{{range $i, $e := .Config.Env}}{{if $i}}{{break}}{{end}}{{$i}}:{{$e}}{{end}}',
        '{{println .Name}}{{print 1 2 "a" "b" 3 true}}',
        '{{define "x"}}[{{.}}]{{end}}{{template "x" .Name}}{{template "x" 3}}',
        '{{block "b" .State.Status}}<{{.}}>{{end}}',
        '{{/* a comment */}}{{.Name}} {{- /* trimmed */ -}} !',
        '{{ .Name | printf "%s!" | upper }}',
        '{{(index .Mounts 0).Name}} {{(index .Mounts 0).Driver | upper}}',
        '{{with $m := index .Mounts 0}}{{$m.Type}} {{$.Name}} {{.Name}}{{end}}',
        '{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}',
        '{{range .Config.Entrypoint}}x{{else}}none{{end}} {{range 3}}{{.}}{{end}}',
        '{{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} {{ne .Name "/web"}} {{ge .State.Pid 1}} {{eq 1 1}}',
        '{{not .State.Running}} {{not ""}} {{not .Config.Env}}',
        '{{.State.Running | not | not}}',
        '{{html "<a&b>"}} {{js "it\'s"}} {{urlquery "a b&c"}}',
        "{{'a'}} {{0x1F}} {{1e3}} {{-2}} {{.5}} {{1_000}} {{0o17}} {{nil | print}}",
        '{{`raw\\t`}} "{{"esc\\t\\u00e9\\x41"}}"',
        '{{if .Config.Labels}}labels{{end}}{{if .Config.Volumes}}vols{{else}}novols{{end}}',
        '{{else}}',
        '{{.Foo}}',
        '{{.Foo.Bar}}',
        '{{.Name.X}}',
        '{{.Config.Entrypoint.X}}',
        '{{with .State}}{{.Foo}}{{end}}',
        '{{index .Config.Env 5}}',
        '{{range .Name}}x{{end}}',
        '{{if}}',
        '{{end}}',
        '{{.Name | nofunc}}',
        '{{.Name',
        '{{"unterminated}}',
        '{{range .Config.Env}}',
        '{{$x}}',
        '{{template "nope"}}',
        '{{len 3}}',
        '{{index .Name "a"}}',
        '{{.Name 1}}',
        '{{printf "%d %s" "x"}}',
        '{{printf "%z" 1}}{{printf "%d" 1 2}}',
        '{{slice .Name 3 1}}',
        '{{break}}',
        '{{eq .Config.Env .Config.Env}}',
        '{{lt .Name 1}}',
        '{{truncate .Name "a"}}',
        '{{split .Name}}',
        '{{upper 1}}',
        '{{join .Name ","}}',
        '{{pad .Name -1 0}}',
        '{{json .}}',
        '{{.HostConfig.MemorySwappiness}}|{{.HostConfig.PidsLimit}}|{{.NetworkSettings.Networks.bridge.IPAMConfig}}|{{.HostConfig.CapAdd}}|{{.Config.Volumes}}|{{.ExecIDs}}',
        '{{len .HostConfig.CapAdd}} {{len .Config.Volumes}} {{join .HostConfig.CapAdd ","}}|{{index .Config.Volumes "x"}}|{{.Config.Volumes.x}}',
        '{{range .HostConfig.Links}}x{{else}}none{{end}} {{if .HostConfig.PidsLimit}}lim{{else}}nolim{{end}} {{json .HostConfig.PidsLimit}} {{eq .Config.Entrypoint nil}}',
        '{{printf "%v|%s|%d" .Config.Entrypoint .Config.Volumes .HostConfig.CapAdd}}',
        '{{index .HostConfig.CapAdd 0}}',
        '{{.HostConfig.PidsLimit.X}}',
        '{{.State.Health}}',
        '{{if .State.Health}}{{.State.Health.Status}}{{else}}no health{{end}}',
    ],
    "image": [
        '{{.Id}}',
        '{{.RepoTags}} {{index .RepoTags 0}} {{len .RepoDigests}}',
        '{{json .Config.Cmd}} {{.Config.Cmd}}',
        '{{.Size}} {{printf "%.1f" 1.25}} {{.Os}}/{{.Architecture}}',
        '{{range .RootFS.Layers}}{{truncate . 19}} {{end}}',
        '{{json .RootFS}}',
        '{{.Config.Labels}}|{{.Config.Entrypoint}}|{{.Author}}|',
        '{{index .Config.Labels "x"}}|{{len .Config.Labels}}|{{.Config.Labels.x}}|{{range $k, $v := .Config.Labels}}{{$k}}{{end}}|',
        '{{.ContainerConfig.Cmd}} {{json .ContainerConfig.Env}} {{len .ContainerConfig.Env}}',
    ],
    "volume": [
        '{{.Name}} {{.Driver}} {{.Mountpoint}} {{.Scope}}',
        '{{json .Labels}} {{.Labels}}',
        '{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}',
        '{{index .Labels "env"}} {{.Labels.tier}}',
        '{{.Options}}|{{json .Options}}|',
        '{{json .}}',
    ],
}

LIST = {
    "ps": (["ps", "-a"], [
        '{{.ID}} {{.Names}}',
        '{{.Label "tier"}}|{{.Labels}}',
        '{{.Names | upper}} {{title .State}}',
        '{{if eq .State "running"}}up{{else}}{{.State}}{{end}}',
        '{{printf "%-8s|" .Names}}{{split .Image "/"}} {{index (split .Image "/") 0}}',
        '{{.Platform}}|{{json .Platform}}|{{.Names 1}}',
        '{{.Platform}}|{{json .Platform}}|{{.Label}}',
        '{{.Platform}}|{{json .Platform}}',
        '{{.Command}} {{truncate .ID 4}} {{json .Networks}}',
        'json',
        '{{json .}}',
        '  {{.Names}}\\t{{.State}}\\n  ',
        'table {{.ID}}\\t{{.Names}}',
        'table',
        'table {{.Names}}\\t{{.Label "com.example.app"}}\\t{{.Label "a"}}\\t{{.State}}',
        'table {{.Label "com.example.app"}}\\t{{.Names}}\\t{{upper .Image}}\\t{{json .ID}}\\t{{pad .State 2 2}}\\t{{printf "%.4s" .Command}}',
        'table {{.Names}}: {{.State}}',
        'table {{.Names}}\\t{{.Mounts}}\\t{{.Networks}}\\t{{.LocalVolumes}}',
        'table {{.Names}}\\t\\t{{.State}}\\t',
        'table {{range split .Names ","}}{{.}}{{end}}\\t{{.State}}',
        'tablex {{.Names}}',
        '{{.Foo}}',
    ]),
    "images": (["images"], [
        '{{.Repository}}:{{.Tag}}',
        'table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}',
        'table',
        'json',
        'table {{.Repository}}\\t{{.Containers}}\\t{{.SharedSize}}\\t{{.Digest}}\\t{{.CreatedAt}}',
        '{{.Foo}}',
    ]),
    "volumes": (["volume", "ls"], [
        '{{.Name}} {{.Driver}}',
        'table {{.Name}}\\t{{.Driver}}\\t{{.Scope}}',
        '{{.Label "env"}}|',
        'table {{.Label "env"}}\\t{{.Name}}\\t{{.Mountpoint}}',
        'table',
        '{{.Foo}}',
    ]),
}

# Corners of the language and of Go's fmt, over the container.
INSPECT["container"] += [
    '{{- /* x */ -}}\n  {{.Name}}  \n{{- "!" -}}  \n',
    'a {{/* no trim */}} b',
    '{{define "a"}}A{{.}}{{template "b" .}}{{end}}{{define "b"}}B{{end}}{{template "a" 1}}',
    '{{range $i, $e := .Config.Env}}{{range $.Mounts}}{{$i}}{{.Type}}{{end}}{{end}}',
    '{{range .Config.Env}}{{if eq . "FOO=bar"}}{{break}}{{end}}{{.}}{{else}}empty{{end}}done',
    '{{with .State}}{{with .Pid}}{{.}}{{end}} {{$.Name}}{{end}}',
    '{{if .State.Paused}}p{{else if .State.Restarting}}r{{else if .State.Running}}run{{end}}',
    '{{with .State.Error}}err{{else with .State.Status}}{{.}}{{end}}',
    '{{and .State.Running .Name}} {{or .State.Paused .State.Error .State.Status}} {{and}}',
    '{{printf "%g %g %g %g %G" 100000.0 1000000.0 0.0001 0.00001 1e-7}}',
    '{{printf "%.3g|%10.4f|%-10.2e|%+d|% d|%x|%X|%#x|%#o|%08.3f" 3.14159 2.5 12345.678 5 7 "héllo" 3054 255 8 -1.5}}',
    '{{printf "%q|%+q|%#q|%x|% x|%c|%U|%#U" "a\"b\té" "é" "raw" "ab" "ab" 233 233 233}}',
    '{{printf "%v|%+v|%T|%T|%T|%T" .State.Running .Config.Labels .Config.Env .State.Pid .Name .State}}',
    '{{printf "%5t|%-5v|%05d|%.2s|%.0f|%.1f|%.1f" true 1 -42 "hello" 2.5 0.25 0.35}}',
    '{{printf "%d %d" 1}} {{printf "%!"}} {{printf "%[3]d %[1]d" 1 2}} {{printf "%*d" "x" 1}}',
    '{{print "a" 1 2 "b" "c" 3.5 true nil}}|{{println 1 "a" nil}}|',
    '{{html "<x y=\"1\">&\'"}} {{js "</script>\n\u2028="}} {{urlquery "a/b?c=d e+f"}} {{html 1 "<"}}',
    '{{slice "hello" 1 3}} {{slice .Config.Env 0 1 2}} {{index .Config.Labels "tier" | len}}',
    '{{index .NetworkSettings.Networks "bridge" "Gateway"}} {{(index .NetworkSettings.Networks "bridge").IPAddress}}',
    '{{len .NetworkSettings.Networks}} {{range $k, $v := .NetworkSettings}}{{$k}},{{end}}',
    '{{not 0}} {{not 1}} {{not .Config.Labels}} {{eq "a" "a" "b"}} {{ne 1 2}} {{lt "a" "b"}} {{ge 2.5 2.5}} {{le 1 2}}',
    '{{eq .State.Running true}} {{eq .State.ExitCode 0}} {{gt .State.Pid 0}} {{eq nil nil}}',
    '{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 3}}{{end}}{{$x}}',
    '{{if true}}{{$y := 3}}{{end}}{{$y}}',
    '{{range $i := .Config.Env}}{{$i}} {{end}}',
    '{{range $i, $e := 3}}{{end}}',
    '{{.Name | printf "%s-%s" "x"}} {{"a" | printf "%s%s" "b"}} {{3 | printf "%d"}}',
    '{{.Name | len | printf "%03d"}}',
    '{{.Name | 1}}',
    '{{.Name.}}',
    '{{(.Name}}',
    '{{.Name)}}',
    '{{"a".X}}',
    '{{.Name | $}}',
    '{{$x := 1 2}}',
    '{{range $a, $b, $c := .Config.Env}}{{end}}',
    '{{eq}}',
    '{{eq 1}}',
    '{{index}}',
    '{{index .Config.Env "a"}}',
    '{{index .Config.Env 2}}',
    '{{index .Name 10}}',
    '{{index .Config.Labels 1}}',
    '{{index .State.Pid 0}}',
    '{{index .Name 1}}',
    '{{slice .Name 1 2 3}}',
    '{{slice .State 1}}',
    '{{len .State.Pid}}',
    '{{call .Name}}',
    '{{nil}}',
    '{{.Name nil}}',
    '{{upper nil}}',
    '{{printf}}',
    '{{printf 1}}',
    '{{json}}',
    '{{json .Name .Id}}',
    '{{$}}',
    '{{.State.Pid.X}}',
    '{{.Config.Labels.tier.X}}',
    '{{.Mounts.X}}',
    '{{$.Nope}}',
    '{{with $x := .State}}{{$x.Nope}}{{end}}',
    '{{template "x"}}{{define "x"}}{{.}}{{end}}',
    '{{define "x"}}a{{end}}{{define "x"}}b{{end}}',
    '{{define "x"}}{{end}}{{define "x"}}b{{end}}{{template "x"}}',
    '{{block "x" .}}{{.Name}}{{end}}{{define "x"}}override{{end}}',
    '{{range .Config.Env}}{{continue}}x{{end}}{{continue}}',
    '{{if 1}}{{else}}{{else}}{{end}}',
    '{{with 1}}{{else if 2}}{{end}}',
    '{{range}}{{end}}',
    '{{if .Name}}',
    '{{1.5.X}}',
    '{{0x}}',
    '{{1e}}',
    '{{99999999999999999999}}',
    "{{'ab'}}",
    "{{'\\n'}} {{'\\x41'}} {{'\\u00e9'}}",
    '{{1i}} {{1+2i}}',
    '{{"\\q"}}',
    '{{ .Name #}}',
    '{{.Name}}}}{{{{',
    '{{/* unclosed',
    '{{/* x */ .Name}}',
    '{{.Na-me}}',
    '{{$x.Y}}',
    '{{ .Name | upper | lower | title | printf "%q" }}',
    '{{split "a,b" "," | join}}',
    '{{"a,b" | split ","}}',
    '{{join (split "a,b,c" ",") "+"}} {{len (split "" ",")}} {{split "" ""}}',
    '{{title "hello_world foo-bar 3am élan"}} {{upper "straße"}} {{lower "ÀÉ"}}',
    '{{truncate "héllo" 2}}|{{truncate "abc" 5}}|{{truncate "abc" 3}}|{{pad "" 1 1}}|{{pad "x" 0 3}}|',
    '{{truncate "abc" -1}}',
    '{{template .Abcdefghijklmnop}}',
    '{{define "é"}}{{end}}{{template "é" | .X}}',
    '{{with $x := "abcdéfghijklmnop"}}{{$x | "y"}}{{end}}',
]

INSPECT_CMD = {"container": ["inspect"], "image": ["image", "inspect"], "volume": ["volume", "inspect"]}
INSPECT_REF = {"container": "web", "image": "testimg/busybox", "volume": "data1"}

cases = []
for kind, tpls in INSPECT.items():
    for t in tpls:
        r = docker(*INSPECT_CMD[kind], "-f", t, INSPECT_REF[kind])
        cases.append({"kind": kind, "format": t, **r})
for kind, (cmd, tpls) in LIST.items():
    for t in tpls:
        r = docker(*cmd, "--format", t)
        cases.append({"kind": kind, "format": t, **r})

again = lines("ps", "-a", "--format", "{{json .}}")
if [row["fields"] for row in data["ps"]] != again:
    sys.exit("ps changed while capturing (a RunningFor/Status minute passed): run again")

for name, obj in data.items():
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
with open(os.path.join(HERE, "docker_cases.json"), "w") as f:
    json.dump(cases, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(cases), "cases")
