//! Where templates come from, and how far a template's names reach: the unit's own folder, the
//! shared folder's own files and the built-in templates, never beyond (real files, real links,
//! the real `/proc/self/environ`).

use std::path::{Path, PathBuf};

use super::*;
use crate::overrides::sample_content;
use crate::{Format, RenderError, Renderer, check_overrides};

#[test]
fn a_unit_template_overrides_the_shared_one_which_overrides_the_built_in() {
    let dir = scratch("chain");
    std::fs::create_dir_all(dir.join("tri-qua")).expect("create");
    std::fs::write(dir.join(TEXT), "shared").expect("write");
    std::fs::write(dir.join("tri-qua").join(TEXT), "unit").expect("write");
    let source = TemplateSource::with_overrides(&dir);
    assert_eq!(source.load("tri-qua", TEXT).expect("load").0, "unit");
    assert_eq!(source.load("other", TEXT).expect("load").0, "shared");
    let (body, origin) = source.load("other", BODY).expect("load");
    assert!(body.contains("KẾT QUẢ ĐẠT ĐƯỢC"));
    assert_eq!(origin, "built-in body.j2");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_functions_write_counts_shares_and_bullets() {
    let env = environment(&TemplateSource::built_in(), "tri-qua");
    let out = env
        .render_str(
            "{{ count(5) }} {{ share(465, 550) }} {{ share(1, 0) }}|{{ bullets(['a', 'b']) }}",
            (),
        )
        .expect("render");
    assert_eq!(out, "05 84.55% không phát sinh|- a\n\n- b");
}

#[test]
fn an_undefined_field_is_an_error() {
    let env = environment(&TemplateSource::built_in(), "tri-qua");
    assert!(env.render_str("{{ indicators.nothing }}", ()).is_err());
}

/// An empty folder of this test's own (named after it and the process).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baocao-templates-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("create");
    std::fs::write(path, text).expect("write");
}

/// The override folder with another ward's secret, `an-phu/secret.j2`, and `tri-qua`'s
/// `report.txt.j2` written as `text`.
fn folder(name: &str, text: &str) -> PathBuf {
    let dir = scratch(name);
    write(&dir.join("an-phu/secret.j2"), "BÍ MẬT CỦA AN PHÚ");
    write(&dir.join("tri-qua").join(TEXT), text);
    dir
}

/// Renders `tri-qua`'s text report from `dir`, and the start-up check of the same.
fn render_and_check(dir: &Path) -> (Result<String, RenderError>, Result<(), String>) {
    let source = TemplateSource::with_overrides(dir);
    let profile = crate::shipped_unit("tri-qua");
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let content = sample_content(&profile, tz);
    let text = Renderer::new(source.clone(), "tri-qua")
        .render(&content, Format::Text)
        .map(|bytes| String::from_utf8(bytes).expect("UTF-8"));
    (text, check_overrides(&source, &[profile], tz))
}

#[test]
fn an_include_of_proc_self_environ_is_refused_at_start_up_and_at_render_naming_the_unit_file_and_line()
 {
    let dir = folder(
        "environ",
        "Báo cáo\n{% include \"/proc/self/environ\" ignore missing %}\n",
    );
    let (text, checked) = render_and_check(&dir);
    let error = checked.expect_err("refused at start-up");
    let file = dir.join("tri-qua").join(TEXT).display().to_string();
    for expected in ["unit 'tri-qua'", "report.txt.j2: line 2", "refused", &file] {
        assert!(error.contains(expected), "{expected} missing in {error}");
    }
    assert!(!error.contains("PATH="), "{error}");
    let error = text.expect_err("refused at render").to_string();
    assert!(
        error.contains("line 2") && error.contains("refused"),
        "{error}"
    );
}

#[test]
fn an_absolute_path_or_a_climb_to_another_units_folder_is_refused() {
    for (name, include) in [
        ("absolute", "{% include \"/etc/hostname\" %}"),
        ("climb", "{% include \"../an-phu/secret.j2\" %}"),
        ("dot", "{% include \"./../an-phu/secret.j2\" %}"),
        ("import", "{% import \"../an-phu/secret.j2\" as secret %}"),
        ("from", "{% from \"/etc/hostname\" import x %}"),
        ("extends", "{% extends \"../an-phu/secret.j2\" %}"),
    ] {
        let dir = folder(name, &format!("Báo cáo\n{include}\n"));
        let (text, checked) = render_and_check(&dir);
        let error = checked.expect_err(name);
        assert!(
            error.contains("unit 'tri-qua'")
                && error.contains("line 2")
                && error.contains("refused"),
            "{name}: {error}"
        );
        assert!(!error.contains("BÍ MẬT"), "{name}: {error}");
        assert!(text.is_err(), "{name}");
    }
    // Another unit's folder by the shared lookup: the shared folder's subfolders are the
    // units', not shared templates.
    let dir = folder("shared-sub", "{% include \"an-phu/secret.j2\" %}");
    let (text, checked) = render_and_check(&dir);
    let error = checked.expect_err("not found");
    assert!(error.contains("non-existing template"), "{error}");
    assert!(!error.contains("BÍ MẬT") && text.is_err(), "{error}");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_units_folder_is_refused() {
    use std::os::unix::fs::symlink;
    let dir = folder("links", "Báo cáo\n\n{% include \"partial.j2\" %}\n");
    let partial = dir.join("tri-qua/partial.j2");
    for target in [
        dir.join("an-phu/secret.j2"),
        PathBuf::from("/proc/self/environ"),
    ] {
        let _ = std::fs::remove_file(&partial);
        symlink(&target, &partial).expect("a link");
        let (text, checked) = render_and_check(&dir);
        let error = checked.expect_err("refused");
        assert!(
            error.contains("partial.j2") && error.contains("leads out of"),
            "{error}"
        );
        assert!(
            !error.contains("BÍ MẬT") && !error.contains("PATH="),
            "{error}"
        );
        assert!(text.is_err());
    }
    // The unit's template itself a link out of its folder.
    let _ = std::fs::remove_file(&partial);
    let report = dir.join("tri-qua").join(TEXT);
    std::fs::remove_file(&report).expect("remove");
    symlink(dir.join("an-phu/secret.j2"), &report).expect("a link");
    let (_, checked) = render_and_check(&dir);
    assert!(checked.expect_err("refused").contains("leads out of"));
}

#[cfg(unix)]
#[test]
fn links_that_stay_within_the_folder_are_followed_as_a_mounted_config_map_has_them() {
    use std::os::unix::fs::symlink;
    // kubelet's layout: the files in a dated folder, `..data` linking to it, each name a link.
    let dir = scratch("config-map");
    write(&dir.join("..2026_05_18/tri-qua/partial.j2"), "Phần riêng.");
    write(
        &dir.join("..2026_05_18/tri-qua").join(TEXT),
        "{% include \"partial.j2\" %}\n",
    );
    symlink("..2026_05_18", dir.join("..data")).expect("a link");
    symlink("..data/tri-qua", dir.join("tri-qua")).expect("a link");
    let (text, checked) = render_and_check(&dir);
    checked.expect("accepted");
    assert!(text.expect("rendered").contains("Phần riêng."));
}

#[test]
fn a_units_own_partials_the_shared_templates_and_the_built_in_ones_can_be_included_imported_and_extended()
 {
    let dir = scratch("legitimate");
    let unit = dir.join("tri-qua");
    write(
        &unit.join("partials/head.j2"),
        "Đầu trang của {{ unit.code }}.",
    );
    write(
        &unit.join("macros.j2"),
        "{% macro greet(name) %}Kính gửi {{ name }}.{% endmacro %}",
    );
    write(
        &unit.join("frame.j2"),
        "{% block main %}{% endblock %}\nHết.\n",
    );
    write(&dir.join("footer.j2"), "Chân trang chung.");
    write(
        &unit.join(TEXT),
        "{% extends \"frame.j2\" %}{% block main %}{% import \"macros.j2\" as m %}\
         {% include \"partials/head.j2\" %}\n{{ m.greet(\"Sở\") }}\n{% include \"footer.j2\" %}\n\
         {% include \"body.j2\" %}{% endblock %}",
    );
    let (text, checked) = render_and_check(&dir);
    checked.expect("accepted at start-up");
    let text = text.expect("rendered");
    for expected in [
        "Đầu trang của tri-qua.",
        "Kính gửi Sở.",
        "Chân trang chung.",
        "I. KẾT QUẢ ĐẠT ĐƯỢC",
        "Hết.",
    ] {
        assert!(text.contains(expected), "{expected} missing in {text}");
    }
}

#[test]
fn an_error_in_an_included_template_names_that_template_and_its_line() {
    let dir = folder("nested", "{% include \"partial.j2\" %}\n");
    write(
        &dir.join("tri-qua/partial.j2"),
        "Một\nHai\n{% include \"/proc/self/environ\" %}\n",
    );
    let (_, checked) = render_and_check(&dir);
    let error = checked.expect_err("refused");
    let file = dir.join("tri-qua/partial.j2").display().to_string();
    assert!(
        error.contains("template partial.j2: line 3") && error.contains(&file),
        "{error}"
    );
}

#[test]
fn a_body_template_writing_a_directive_the_report_does_not_draw_stops_start_up() {
    let dir = scratch("directive");
    write(&dir.join("tri-qua").join(BODY), "Mở đầu.\n\n@members\n");
    let (text, checked) = render_and_check(&dir);
    let error = checked.expect_err("refused at start-up");
    assert!(
        error.contains("unit 'tri-qua'") && error.contains("'@members'"),
        "{error}"
    );
    // Rendered anyway (from stored data, say), it is text.
    assert!(text.expect("rendered").contains("@members"));
}
