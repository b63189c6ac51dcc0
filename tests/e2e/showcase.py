"""The README's page screenshot: conditional ddim, N = 50, 20 steps, seed 1, on the page's
default backend, from the committed weights. Run after scripts/build-page.sh:
    python3 tests/e2e/showcase.py   (writes docs/page.png)"""
import os

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from test_page import ROOT, browser, error_text, serve, set_value, wait


def main():
    httpd, url = serve()
    d = browser()
    try:
        d.get(url)
        wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), "the page to load its weights")
        Select(d.find_element(By.ID, "method")).select_by_value("conditional/ddim")
        set_value(d, "n", 50)
        set_value(d, "steps", 20)
        set_value(d, "seed", 1)
        d.find_element(By.ID, "generate").click()
        wait(lambda: len(d.find_elements(By.CSS_SELECTOR, "#grid canvas.sample")) == 50 or error_text(d), "the grid")
        assert not error_text(d), error_text(d)
        wait(lambda: d.find_element(By.ID, "stat-time").text.endswith(" s"), "the figures")
        d.save_screenshot(os.path.join(ROOT, "docs", "page.png"))
        print("docs/page.png:", d.find_element(By.ID, "stats").text)
    finally:
        d.quit()
        httpd.shutdown()


if __name__ == "__main__":
    main()
