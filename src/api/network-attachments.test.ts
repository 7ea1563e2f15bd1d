import assert from "node:assert/strict";
import { test } from "node:test";
import { AnnotationError } from "./annotations.ts";
import {
  attachmentKey,
  defaultInterfaceName,
  formatNetworkStatus,
  parseNetworkSelection,
  parseNetworkStatus,
} from "./network-attachments.ts";

test("the default interface name is net + md5(name)'s first 12 hex digits (seed 003)", () => {
  assert.equal(defaultInterfaceName("data"), "net8d777f385d3d");
  assert.equal(defaultInterfaceName("green"), "net9f27410725ab");
  assert.equal(defaultInterfaceName("red"), "netbda9643ac660");
});

test("the comma form: name, namespace/name, name@interface; the same network twice on two interfaces", () => {
  assert.deepEqual(parseNetworkSelection(" data, other/data@eth5 ,green@g1", "default"), [
    { namespace: "default", name: "data", interface: "net8d777f385d3d" },
    { namespace: "other", name: "data", interface: "eth5" },
    { namespace: "default", name: "green", interface: "g1" },
  ]);
  assert.deepEqual(parseNetworkSelection("data@a,data@b", "ns").map(attachmentKey), [
    "ns/data@a",
    "ns/data@b",
  ]);
  assert.deepEqual(parseNetworkSelection(undefined, "ns"), []);
  assert.deepEqual(parseNetworkSelection("  ", "ns"), []);
});

test("the JSON form: interface, ips, mac, default-route", () => {
  assert.deepEqual(
    parseNetworkSelection(
      JSON.stringify([
        { name: "data", interface: "data0", ips: ["10.10.0.5/24"], mac: "02:AA:bb:cc:dd:ee" },
        { name: "mgmt", namespace: "infra", "default-route": ["10.20.0.1"] },
      ]),
      "default",
    ),
    [
      {
        namespace: "default",
        name: "data",
        interface: "data0",
        ips: ["10.10.0.5/24"],
        mac: "02:aa:bb:cc:dd:ee",
      },
      {
        namespace: "infra",
        name: "mgmt",
        interface: defaultInterfaceName("mgmt"),
        defaultRoute: ["10.20.0.1"],
      },
    ],
  );
});

test("any bad entry refuses the whole selection, naming every problem", () => {
  const refused = (text: string, ...want: RegExp[]) => {
    assert.throws(
      () => parseNetworkSelection(text, "default"),
      (e: unknown) => e instanceof AnnotationError && want.every((w) => w.test(e.message)),
      text,
    );
  };
  refused("Data", /name "Data" is not a valid object name/);
  refused("data,", /entry 2 is empty/);
  refused("data@this-name-is-too-long", /must be 1 to 15 characters/);
  refused("data@eth0", /primary interface/);
  refused("data@x,green@x", /interface x is also entry 1's/);
  refused('[{"name":"data","ips":["10.0.0.5"]}]', /not an address with a prefix/);
  refused('[{"name":"data","mac":"zz:00:00:00:00:00"}]', /not a MAC address/);
  refused('[{"name":"data","default-route":["gw"]}]', /not an IP address/);
  refused('[{"interface":"x"}]', /0\.name/);
  refused("[not json", /not JSON/);
  refused("Bad_NS/data", /namespace "Bad_NS"/);
  refused('[{"name":"a","interface":"a b"},{"name":"B"}]', /blanks/, /name "B"/);
});

test("network-status round-trips, primary first", () => {
  const entries = [
    { name: "raven", interface: "eth0", ips: ["192.168.0.5"], mac: "fa:16:3e:00:00:01", default: true },
    {
      name: "default/data",
      interface: "net8d777f385d3d",
      ips: ["10.10.0.2"],
      mac: "02:00:00:00:00:01",
      default: false,
    },
  ];
  const text = formatNetworkStatus(entries);
  assert.deepEqual(parseNetworkStatus(text), entries);
  assert.deepEqual(parseNetworkStatus(undefined), []);
  assert.throws(() => parseNetworkStatus("{"), AnnotationError);
});
