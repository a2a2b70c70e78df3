// Skytrail four-camera head: parametric OpenSCAD model.
// The cameras' pointing is set by the parameters below (override with openscad -D, e.g.
//   openscad -D 'cam_elevation_deg=50' -D 'cam_azimuths_deg=[10,100,190,280]' -o head.stl head.scad).
// Units: millimetres and degrees. Azimuth from north (+Y) through east (+X), elevation above the
// horizontal, as in edge.astrometry.camera_model. The planner's `skytrail plan suggest` prints
// azimuths and elevations in exactly these terms.

/* [Pointing] */
cam_azimuths_deg = [0, 90, 180, 270];
cam_elevation_deg = 45;          // one elevation for all cameras (the M3 / default layout)
cam_elevations_deg = [];         // optional: one elevation per camera; overrides cam_elevation_deg

/* [Camera and window] */
board_mm = 38;                   // IMX462 IP-camera board (38 x 38 mm, the common format)
lens_d_mm = 30;                  // 8 mm CS-mount lens barrel diameter
lens_len_mm = 40;
window_d_mm = 50;                // optical window (glass or acrylic disc)
window_t_mm = 3;
tube_wall_mm = 3;
tube_len_mm = 70;                // from the hub to the window
heater_ring_t_mm = 4;            // dew-heater ring behind the window

/* [Body] */
base_d_mm = 220;                 // electronics drum (computer, switch, GPS, SDR)
base_h_mm = 90;
hub_d_mm = 120;                  // central hub the camera tubes leave from
hub_h_mm = 60;
roof_overhang_mm = 10;           // rain lip over the drum
wall_mm = 3;
mast_d_mm = 48;                  // standard 48 mm antenna mast clamp
show_cameras = true;             // draw boards and lenses (set false for the printable shell only)

$fn = 48;

function elev(i) = len(cam_elevations_deg) > i ? cam_elevations_deg[i] : cam_elevation_deg;

assert(len(cam_azimuths_deg) >= 1 && len(cam_azimuths_deg) <= 8, "1 to 8 cameras");
for (i = [0 : len(cam_azimuths_deg) - 1])
    assert(elev(i) >= 0 && elev(i) <= 90, str("camera ", i + 1, ": elevation must be 0..90 deg"));

// Rotate the +Z axis so that it points at (azimuth, elevation): tilt down from the zenith by
// 90 - elevation toward +Y (north), then turn clockwise (seen from above) by the azimuth.
module point_at(az, el) {
    rotate([0, 0, -az]) rotate([-(90 - el), 0, 0]) children();
}

module camera_tube(az, el) {
    point_at(az, el) {
        difference() {
            cylinder(d = window_d_mm + 2 * tube_wall_mm, h = tube_len_mm);
            translate([0, 0, -1]) cylinder(d = window_d_mm, h = tube_len_mm + 2);
        }
        // window and its retaining lip
        translate([0, 0, tube_len_mm - window_t_mm]) color("lightblue", 0.5) cylinder(d = window_d_mm, h = window_t_mm);
        // dew-heater ring just behind the window
        translate([0, 0, tube_len_mm - window_t_mm - heater_ring_t_mm])
            color("orange") difference() {
                cylinder(d = window_d_mm, h = heater_ring_t_mm);
                translate([0, 0, -1]) cylinder(d = window_d_mm - 8, h = heater_ring_t_mm + 2);
            }
        if (show_cameras) {
            translate([-board_mm / 2, -board_mm / 2, 5]) color("green") cube([board_mm, board_mm, 2]);
            translate([0, 0, 7]) color("black") cylinder(d = lens_d_mm, h = lens_len_mm);
        }
    }
}

module body() {
    // electronics drum with a rain lip
    difference() {
        cylinder(d = base_d_mm, h = base_h_mm);
        translate([0, 0, wall_mm]) cylinder(d = base_d_mm - 2 * wall_mm, h = base_h_mm);
    }
    translate([0, 0, base_h_mm]) cylinder(d = base_d_mm + 2 * roof_overhang_mm, h = wall_mm);
    // hub
    translate([0, 0, base_h_mm + wall_mm]) cylinder(d = hub_d_mm, h = hub_h_mm);
    // mast socket
    translate([0, 0, -60]) difference() {
        cylinder(d = mast_d_mm + 2 * wall_mm, h = 60);
        translate([0, 0, -1]) cylinder(d = mast_d_mm, h = 55);
    }
    // north mark on the rain lip: mount the head with this arrow to true north
    translate([0, base_d_mm / 2 + roof_overhang_mm - 12, base_h_mm + wall_mm])
        linear_extrude(2) polygon([[-6, 0], [6, 0], [0, 10]]);
}

body();
for (i = [0 : len(cam_azimuths_deg) - 1])
    translate([0, 0, base_h_mm + wall_mm + hub_h_mm / 2]) camera_tube(cam_azimuths_deg[i], elev(i));
